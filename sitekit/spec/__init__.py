"""The spec step: YAML files -> one validated site spec, with the line that set every value. No Pulumi here.

`loader.load_site` orchestrates; the modules below it each do one part and never import it: `layout` (where
files are), `sources` (YAML with lines, bounded), `stackfiles` (a stack file's config), `stackconfig` (the
config keys), `merge` (baseline < jurisdiction < site), `types` and `models` (the typed spec), `keys`,
`problems` (errors in sitekit's words), `catalog` (shapes, regions, capacity, prices), `validate` (cross-field
rules), `peering` (links between sites), `loaded` (the result). `explain` and `schema` read the result.
"""
