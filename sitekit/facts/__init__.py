"""Facts about OCI and the CIS OCI Foundations Benchmark, kept as data with their source (no logic)."""
