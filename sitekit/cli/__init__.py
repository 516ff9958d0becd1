"""The `sitekit` command line: `app` (what every command shares), one module per command group, `main`
(which assembles them; the console script)."""
