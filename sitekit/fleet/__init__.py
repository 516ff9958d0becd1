"""`sitekit fleet`: every site in one view, for people (a table, a static HTML report) and machines (JSON).

Flow, one module per step:
- `collect`: stacks -> loaded sites, plans and policy results (through `batch.run_sites`, plans cached) -> `Fleet`;
- `model`: one `SiteRow` per site from plain data (spec, plan, policy result, prices), totals per country; the
  one place peerings are read from a spec (`peerings`);
- `network`: a plan -> the site's network topology (VCNs, subnets, DRG, gateways, remote peerings);
- `history`: git -> GPUs and MW per site at each of the last commits;
- `capacity`: the capacity catalog + sites -> where a GPU shape could move;
- `text`, `html` (with `svg`): renderers; nothing below them reads a file or runs a process.
"""
