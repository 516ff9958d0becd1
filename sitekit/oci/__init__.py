"""What sitekit knows of OCI's resource types, said once: the type table (`types`), which input changes replace a
resource (`replacement`, from the provider's own facts) and what OCI would answer, faked (`fakes`). Policy,
review, cost, the fleet and the engine's stand-in provider read these; nothing here imports them."""
