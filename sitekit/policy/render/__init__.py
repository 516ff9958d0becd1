"""Policy results, one module per format: `table` (people), `json` (machines), `sarif` (SARIF 2.1.0, code
scanning) and `markdown` (pull-request comments); `rows` holds what they all show. The registry naming them is
`POLICY` in sitekit/cli/formats.py.

Every format lists the site's waivers, current or expired, with the findings each one waived.
"""
