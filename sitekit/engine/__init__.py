"""The real Pulumi engine with no cloud: a throwaway workspace (`workspace`) and the stand-in OCI provider
(`provider`, with input schemas read from pulumi_oci in `schema`). Used by review's engine mode and the tests only."""
