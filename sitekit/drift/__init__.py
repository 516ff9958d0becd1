"""`sitekit drift` (issue 19): each deployed site's state against what the cloud reports, read through the
engine's refresh preview and classified by the table of OCI types. The step after deployment: it reads stacks,
never writes them."""
