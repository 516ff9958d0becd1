"""A review as a pull-request comment (Markdown) and as JSON.

The comment is built in layers and cut by layer, never in the middle of one: the header, the summary table and
the warnings of every site (protected, stateful and GPU resources) always stay; then each site's summary; then
each site's list of changes; then the property diffs (whole values, multi-line, cloud-init user data decoded
and diffed as text). A layer that does not fit is left out whole (so no `<details>` is left open) and the
comment says what was folded; `--format json` always has everything. The registry naming the two is `REVIEW`
in sitekit/cli/formats.py.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import re
import secrets
from typing import Any

from sitekit.review.model import KINDS, Change, Review, SiteReview, site_dict

COMMENT_LIMIT = 64_000  # what a pull-request comment holds, with room to spare
MARKER = "<!-- sitekit-review -->"  # lets a workflow find and update its own comment


_BACKTICKS = re.compile(r"`+")
_MENTION = re.compile(r"(?<!\w)@(?=\w)")


def fence(lines: list[str], info: str = "") -> list[str]:
    """`lines` as a fenced code block whose fence is longer than any run of backticks in them: a value holding a
    line of three backticks cannot close it and spill the rest of the comment out of code."""
    longest = max((len(run) for line in lines for run in _BACKTICKS.findall(line)), default=0)
    mark = "`" * max(3, longest + 1)
    return [mark + info, *lines, mark]


def no_mentions(lines: list[str]) -> list[str]:
    """Each `@name` made inert (a zero-width space after the @): a value quoting someone notifies no one."""
    return [_MENTION.sub("@\u200b", line) for line in lines]


def site_json(d: dict[str, Any]) -> str:
    """A site's review (`site_dict`) as `dumps` writes it, less the indentation of its place in the document."""
    return json.dumps(d, indent=2, sort_keys=True, default=str)


def dumps(review: Review) -> str:
    """The review as JSON, indented by two, keys sorted. Each site is rendered alone (`site_json`, or as its
    cached rendering, `Review.rendered`) and set into its place, indented to its depth: byte for byte what one
    `json.dumps` of the whole makes, without running the indenting encoder over the sites taken from the cache."""
    marker = f"sitekit-site-{secrets.token_hex(8)}-"
    top = review.to_dict(sites=False)
    ordered = sorted(review.sites, key=lambda s: s.site)
    top["sites"] = [f"{marker}{i}" for i in range(len(ordered))]
    lines = json.dumps(top, indent=2, sort_keys=True, default=str).split("\n")
    out = []
    for line in lines:
        text = line.strip().rstrip(",")
        if text.startswith(f'"{marker}'):
            s = ordered[int(text[len(marker) + 1:-1])]
            body = review.rendered.get(s.site) or site_json(site_dict(s))
            out.append("    " + body.replace("\n", "\n    ") + ("," if line.endswith(",") else ""))
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "–" if value is None else str(value)


def _delta(before: Any, after: Any, money: bool = False) -> str:
    fmt = (lambda v: "–" if v is None else f"${v:,.0f}") if money else _num
    if before == after or before is None or after is None:
        return fmt(after if after is not None else before)
    diff = after - before
    sign = "+" if diff > 0 else "−" if diff < 0 else ""
    shown = fmt(abs(round(diff, 4) if isinstance(diff, float) else abs(diff)))
    return f"{fmt(before)} → {fmt(after)} ({sign}{shown})"


def _cost(side) -> float | None:
    return None if not side.cost else side.cost.get("monthlyUsd")


def _policy_count(side) -> int | None:
    p = side.policy
    return None if not p or "error" in p else len(p["mandatoryFailures"])


def _policy_cell(s) -> str:
    """Mandatory failures, base -> head; a base that planned but whose policy was not evaluated says so."""
    before, after = _policy_count(s.base), _policy_count(s.head)
    if s.head.error or (after is None and s.head.policy is not None):
        return "**not evaluated**"
    cell = _delta(before, after)
    if before is None and s.base.outputs:
        cell += " (base not evaluated)"
    return cell


def _mode_line(review: Review) -> str:
    if review.mode == "engine":
        return (f"engine: the base deployed and the head previewed by `pulumi` {review.engine} against a throwaway "
                "backend, with sitekit's stand-in OCI provider (no credentials, nothing ran against OCI)")
    if review.mode == "preview-json":
        return "engine: `pulumi preview --json` files your CI produced against real state, with sitekit's overlays"
    return ("offline approximation: no Pulumi CLI; replacements from the OCI provider's ForceNew facts, dependents "
            "re-judged; see the README's known limits of offline mode")


def _why(c: Change) -> str:
    forced = [p.path for p in c.detail if p.replace] or c.replace_fields
    if c.kind == "replace" and forced:
        return ": replaced because " + ", ".join(f"`{p}`" for p in forced[:4]) + (" …" if len(forced) > 4 else "")
    if c.kind == "update" and c.detail:
        paths = [p.path for p in c.detail]
        return ": " + ", ".join(f"`{p}`" for p in paths[:4]) + (f" and {len(paths) - 4} more" if len(paths) > 4 else "")
    return ""


def _warning(c: Change) -> str:
    marks = []
    if c.blocked:
        marks.append("**protected**: Pulumi will refuse until `protect` is lifted on purpose")
    if c.loses_state:
        marks.append("**stateful**: what it holds goes with it")
    if c.gpu:
        marks.append("GPU capacity")
    return f"- {c.kind} `{c.name}` ({c.type}){_why(c)} — " + "; ".join(marks)


WHY_LINES = 20  # lines of each reason shown at the top of the comment


def not_evaluated(review: Review) -> list[str]:
    """First of all, what of the head side could not be judged: the review fails on it (`Review.exit_code`)."""
    if not review.not_evaluated:
        return []
    kind = "bad input, exit 2" if review.exit_code() == 2 else "exit 1"
    lines = [f"**Not evaluated: this review fails ({kind}).** Each of these is unknown, not a pass:", ""]
    for n in review.not_evaluated:
        why = n.why.splitlines()
        if len(why) > WHY_LINES:  # the comment keeps its first lines whole; stderr and the JSON have every line
            why = why[:WHY_LINES] + [f"… and {len(why) - WHY_LINES} more lines (stderr, `--format json`)"]
        lines += [f"- **{n.site}**: {n.what} not evaluated", "", *("  " + line for line in fence(why))]
    return lines + [""]


def header(review: Review) -> list[str]:
    base = f"`{review.base_commit[:12]}`" + (f" (merge base with `{review.base_rev}`)" if review.merge_base
                                             else f" (`{review.base_rev}`)")
    head = f"`{review.head_commit[:12]}`" + (" plus uncommitted changes" if review.dirty else "")
    lines = [MARKER, *not_evaluated(review), f"## sitekit review: {sum(s.status != 'unchanged' for s in review.sites)} of "
             f"{len(review.sites) + len(review.unaffected)} sites change", "",
             f"Base {base}, head {head}. Verdicts: {_mode_line(review)}.", ""]
    moved = review.version_changes()
    if moved:
        installed = ", ".join(f"{k} {v}" for k, v in sorted(review.versions.get("installed", {}).items()))
        lines += ["**Versions change:** " + "; ".join(f"{k} {a or 'none'} → {b or 'none'}" for k, a, b in moved)
                  + f". Both sides are planned with the SDKs installed here ({installed or 'none found'}), not each "
                  "with its own pins: what the new versions change in a plan is not in this review.", ""]
    shown = [s for s in review.sites if s.status != "unchanged"]
    if shown:
        lines += ["| site | status | create | update | replace | delete | protected at risk | GPUs | IT MW | "
                  "facility MW | envelope MW | monthly cost (list) | mandatory policy failures |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for s in shown:
            b, h = s.base.outputs, s.head.outputs
            risk = sum(c.blocked for c in s.changes) + len(s.refusals)
            lines.append(
                f"| {s.site} | {s.status} | " + " | ".join(str(s.count(k)) for k in KINDS) +
                f" | {('⚠ ' + str(risk)) if risk else 0} | {_delta(b.get('gpus'), h.get('gpus'))} | "
                f"{_delta(b.get('itMw'), h.get('itMw'))} | {_delta(b.get('facilityMw'), h.get('facilityMw'))} | "
                f"{_delta(b.get('envelopeMw'), h.get('envelopeMw'))} | {_delta(_cost(s.base), _cost(s.head), True)} | "
                f"{_policy_cell(s)} |")
        lines.append("")
    quiet = sorted([s.site for s in review.sites if s.status == "unchanged"] + review.unaffected)
    if quiet:
        lines += [f"Unchanged: {', '.join(quiet)}.", ""]
    return lines


def warnings(review: Review, per_site_cap: int | None = None) -> list[str]:
    lines = []
    for s in review.sites:
        items = [_warning(c) for c in s.warnings()] + [f"- refused by the engine: {' '.join(r.split())}" for r in s.refusals]
        if not items:
            continue
        shown = items if per_site_cap is None else items[:per_site_cap]
        lines += [f"**{s.site}: {len(items)} warning{'s' if len(items) != 1 else ''}**", ""] + shown
        if len(shown) < len(items):
            lines.append(f"- … and {len(items) - len(shown)} more (see `--format json`)")
        lines.append("")
    return (["### Warnings", ""] + lines) if lines else []


def site_summary(s: SiteReview) -> list[str]:
    lines = [f"### {s.site}", ""]
    for side, error in (("base", s.base.error), ("head", s.head.error)):
        if error:  # the tree's own words, values quoted in them included: in code
            lines += [f"The {side} could not be planned:", *fence(error.splitlines()), ""]
    for note in s.notes:
        lines += [f"> {note}", ""]
    roles_b, roles_h = s.base.outputs.get("gpusByRole") or {}, s.head.outputs.get("gpusByRole") or {}
    if roles_b != roles_h:
        lines += ["GPUs by role: " + ", ".join(f"{r} {_delta(roles_b.get(r), roles_h.get(r))}"
                                                for r in sorted(set(roles_b) | set(roles_h))), ""]
    if s.head.cost:
        unpriced = s.head.cost.get("unpriced") or {}
        extra = ("; not priced (no list price): " + ", ".join(f"{n:,} × {k}" for k, n in unpriced.items())) \
            if unpriced else ""
        lines += [f"Monthly cost at list price: {_delta(_cost(s.base), _cost(s.head), True)}{extra}.", ""]
    pol = s.head.policy
    if pol and "error" not in pol:
        lines += [f"Policy: mandatory failures: {', '.join(pol['mandatoryFailures']) or 'none'}; advisory findings: "
                  f"{len(pol['advisory'])}; waivers: {pol['waivers']} ({pol['waived']} findings waived).", ""]
    elif pol:
        lines += ["Policy: could not evaluate:", *fence(str(pol["error"]).splitlines()), ""]
    return lines


def change_list(s: SiteReview) -> list[str]:
    if not s.changes:
        return []
    lines = [f"<details><summary>{s.site}: all {len(s.changes)} changes</summary>", ""]
    lines += [f"- {c.kind} `{c.name}` ({c.type}){_why(c)}" for c in s.changes]
    return lines + ["", "</details>", ""]


def _expand(value: Any) -> Any:
    """Values made readable for a diff: cloud-init user data decoded from base64."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "user_data" and isinstance(v, str):
                try:
                    out[k] = base64.b64decode(v, validate=True).decode("utf-8")
                    continue
                except (binascii.Error, UnicodeDecodeError, ValueError):
                    pass
            out[k] = _expand(v)
        return out
    if isinstance(value, list):
        return [_expand(v) for v in value]
    return value


def _text(value: Any) -> list[str]:
    value = _expand(value)
    if isinstance(value, str):
        return value.splitlines()
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    # decoded user data shows as text, line by line, not as one escaped JSON string
    return [line for chunk in text.split("\\n") for line in chunk.splitlines()]


def property_diff(c: Change) -> list[str]:
    lines = []
    for f in c.fields:
        diff = list(difflib.unified_diff(_text(c.before.get(f)), _text(c.after.get(f)), f"{c.name}.{f} (base)",
                                         f"{c.name}.{f} (head)", lineterm="", n=2))
        lines += diff
    return lines


def property_diffs(s: SiteReview) -> list[str]:
    body = []
    for c in s.changes:
        if c.kind in ("update", "replace") and c.fields:
            body += property_diff(c)
    if not body:
        return []
    return [f"<details><summary>{s.site}: property diffs</summary>", "", *fence(body, "diff"), "", "</details>", ""]


def render_markdown(review: Review, limit: int = COMMENT_LIMIT) -> str:
    shown = [s for s in review.sites if s.status != "unchanged"]
    core = no_mentions(header(review))
    warn = no_mentions(warnings(review))
    if len("\n".join(core + warn)) > limit // 2:
        warn = no_mentions(warnings(review, per_site_cap=5))
    used = len("\n".join(core + warn)) + 400  # room for the folding note
    layers = ((site_summary, "site summary"), (change_list, "change list"), (property_diffs, "property diffs"))
    kept: dict[tuple[int, str], list[str]] = {}
    folded = []
    for i, (layer, name) in enumerate(layers):  # by priority: every site's summary before any change list
        for s in shown:
            block = no_mentions(layer(s))
            if not block:
                continue
            size = len("\n".join(block)) + 1
            if used + size > limit:
                folded.append((name + "s" if not name.endswith("s") else name, s.site))
                continue
            kept[(i, s.site)] = block
            used += size
    out = core + warn
    for s in shown:  # then in reading order: each site's blocks together
        for i in range(len(layers)):
            out += kept.get((i, s.site), [])
    if folded:
        counts: dict[str, list[str]] = {}
        for name, site in folded:
            counts.setdefault(name, []).append(site)
        what = "; ".join(f"{name} of {len(sites)} site{'s' if len(sites) > 1 else ''} ({', '.join(sites[:3])}"
                         f"{', …' if len(sites) > 3 else ''})" for name, sites in counts.items())
        out += [f"_Folded to fit a pull-request comment: {what}. `sitekit review --format json` has everything._", ""]
    return "\n".join(out).rstrip() + "\n"
