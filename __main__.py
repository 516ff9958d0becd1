"""Entry point Pulumi runs (`pulumi up -s <site>`); `sitekit plan <site>` runs this same file offline."""

from sitekit.program import main

main()
