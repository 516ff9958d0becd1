"""`sitekit new-site` and `sitekit new-jurisdiction` (issue 4)."""
