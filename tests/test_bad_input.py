"""Bad input on the surfaces added since the first hardening (issue 17): each refusal is a clear line naming the
file (or the argument), the dotted key and what is wrong, exit 2, no traceback; nothing a user wrote is turned
into console markup or emoji. The generated-input counterparts are in test_fuzz.py (tests/fuzzing.py)."""

from __future__ import annotations

import io
import os
import subprocess
import time
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from sitekit.cli.main import app
from sitekit.fleet.capacity import ShapeView, Use
from sitekit.plan import Plan, PlannedResource
from sitekit.run.report import print_plan

FIXTURES = Path(__file__).parent / "fixtures" / "fail"
MARKUP = "[bold]x[/bold] [/red] :smile: :100:"
"""User text that a console with markup and emoji on would style, convert or refuse (an unopened [/red])."""


def run(project: Path, monkeypatch, *args: str):
    monkeypatch.chdir(project)
    return CliRunner().invoke(app, list(args))


def exits_2(result) -> list[str]:
    """The refusal's lines: exit 2 on purpose, no traceback, nothing on stdout."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    return result.stderr.splitlines()


# ------------------------------------------------------------------------------------------------ consoles
def _console() -> tuple[Console, io.StringIO]:
    from sitekit.cli.app import out

    buffer = io.StringIO()
    return Console(file=buffer, width=400, emoji=out._emoji, markup=out._markup), buffer


def test_explain_prints_a_value_as_written(project, monkeypatch):
    stack = project / "stacks/Pulumi.us-ashburn.yaml"
    stack.write_text(stack.read_text() + f"  sitekit:overrides:\n    tags: {{costCentre: '{MARKUP}'}}\n")
    result = run(project, monkeypatch, "explain", "us-ashburn", "tags.costCentre")
    assert result.exit_code == 0, result.output
    assert MARKUP in result.stdout


def test_a_plan_table_prints_names_and_inputs_as_written():
    console, buffer = _console()
    res = PlannedResource(urn="urn:a", type="oci:Core/vcn:Vcn", name=MARKUP, custom=True, parent=None, provider=None,
                          inputs={"cidrBlocks": [MARKUP], "dnsLabel": MARKUP})
    print_plan(Plan(site="s", resources=[res], outputs={"gpusByRole": {MARKUP: 1}}), console)
    text = buffer.getvalue()
    assert text.count("[bold]x[/bold]") >= 3 and ":smile: :100:" in text and "😄" not in text


def test_a_capacity_note_prints_as_written(monkeypatch):
    from sitekit.fleet.capacity import CapacityReport
    from sitekit.fleet.text import print_capacity

    console, buffer = _console()
    use = Use(site="s", jurisdiction="us", region="r", status="unknown", nodes=1, gpus=8, approved=False, options=())
    view = ShapeView(MARKUP, MARKUP, (MARKUP,), (), (), 0, (), (use,))
    print_capacity(CapacityReport((view,), "2026-01-01", detail=True), console)
    text = buffer.getvalue()
    assert text.count(MARKUP) >= 3, text


# ------------------------------------------------------------------------------------------------ long values
LONG = "x" * 100_000


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


LONG_EDITS = {
    "config-key": lambda p: _append(p / "stacks/Pulumi.us-ashburn.yaml", f"  ? sitekit:{LONG}\n  : 1\n"),
    "pool-shape": lambda p: _replace(p / "stacks/Pulumi.us-ashburn.yaml", "shape: BM.GPU.H100.8", f"shape: {LONG}"),
    "timezone": lambda p: _replace(p / "stacks/baseline.yaml", "timezone: UTC", f"timezone: {LONG}"),
    "nsg-peer": lambda p: _replace(p / "stacks/baseline.yaml", "peer: 0.0.0.0/0, description: HTTPS from clients",
                                   f"peer: {LONG}, description: HTTPS from clients"),
    "iam-placeholder": lambda p: _replace(p / "stacks/baseline.yaml", "{compartment:compute} where ALL",
                                          "{compartment:" + "x" * 5000 + "} where ALL"),
    "anchor": lambda p: _append(p / "stacks/Pulumi.us-ashburn.yaml", f"  sitekit:ociProfile: *{LONG}\n"),
    "basis": lambda p: _replace(p / "stacks/jurisdictions/us.yaml",  # the residency rule's own basis
                                'basis: "Organisation policy DR-1 (data residency): US data', f'basis: "{LONG}'),
}


@pytest.mark.parametrize("name", sorted(LONG_EDITS))
def test_a_long_value_is_quoted_clipped(project, monkeypatch, name):
    """A 100,000-character value (or key) in a message is quoted clipped: no line is a screenful of x."""
    LONG_EDITS[name](project)
    if name == "basis":  # a problem that quotes the basis: a region outside the residency regions (and outside
        # the cross-border list: us lets confidential data reach br's regions, README "Which data may cross a border")
        _replace(project / "stacks/Pulumi.us-ashburn.yaml", "sitekit:region: us-ashburn-1", "sitekit:region: eu-frankfurt-1")
    lines = exits_2(run(project, monkeypatch, "plan", "us-ashburn"))
    assert lines and all(len(line) <= 1_000 for line in lines), [len(line) for line in lines]
    assert any("xxx..." in line for line in lines), lines


@pytest.mark.parametrize("option", ["--operator-cidr", "--tenancy-id", "--pools", "--region", "--home-region",
                                    "--jurisdiction"])
def test_a_long_new_site_argument_is_quoted_clipped(project, monkeypatch, option):
    args = ["new-site", "-j", "us", "-r", "us-ashburn-1", "--", "zz-new"]
    if option in ("--region", "--jurisdiction"):
        flag = {"--region": "-r", "--jurisdiction": "-j"}[option]
        args[args.index(flag) + 1] = LONG
    else:
        args.insert(1, f"{option}={LONG}")
    lines = exits_2(run(project, monkeypatch, *args))
    assert lines and all(len(line) <= 1_000 for line in lines), [len(line) for line in lines]
    assert any(option in line for line in lines), lines


def test_a_problem_prints_as_one_line_of_at_most_1000_characters():
    """The last guard: whatever a file name, key or message holds, a problem is one line a person can read."""
    from sitekit.errors import MAX_LINE, Problem

    text = str(Problem("f" * 5000, 7, "k\n" * 5000, "m" * 5000))
    assert len(text) <= MAX_LINE and "\n" not in text and text.startswith("f" * 197 + "...:7: k\\nk")
    assert str(Problem("stacks/baseline.yaml", 100, "a.b", "short")) == "stacks/baseline.yaml:100: a.b: short"


# ------------------------------------------------------------------------------------------------ new-site
def _stacks(project: Path) -> list[str]:
    return sorted(p.name for p in (project / "stacks").iterdir())


@pytest.mark.parametrize("args,lines", [
    (["--pue=0"], ["sitekit new-site: --pue: must be a number in [1.0, 3.0] (got 0)"]),
    (["--pue=nan", "--power-mw=inf"], ["sitekit new-site: --power-mw: must be a number in (0, 5000] MW "
                                       "(got inf (past the range of a number))",
                                       "sitekit new-site: --pue: must be a number in [1.0, 3.0] (got nan)"]),
    (["--power-mw=nan"], ["sitekit new-site: --power-mw: must be a number in (0, 5000] MW (got nan)"]),
    (["--power-mw=1e400"], ["sitekit new-site: --power-mw: must be a number in (0, 5000] MW "
                            "(got inf (past the range of a number))"]),
    (["--power-mw=-1e400", "--availability-domain=99999999999999999999"],
     ["sitekit new-site: --availability-domain: must be 1, 2 or 3 (got 99999999999999999999)",
      "sitekit new-site: --power-mw: must be a number in (0, 5000] MW (got -inf (past the range of a number))"]),
])
def test_new_site_numbers_are_checked_before_any_work(project, monkeypatch, args, lines):
    before = _stacks(project)
    assert exits_2(run(project, monkeypatch, "new-site", "-j", "us", "-r", "us-ashburn-1", *args, "--", "zz-new")) == lines
    assert _stacks(project) == before


def test_a_very_long_site_name_is_refused_before_it_names_a_file(project, monkeypatch):
    lines = exits_2(run(project, monkeypatch, "new-site", "-j", "us", "-r", "us-ashburn-1", "--", "x" * 300))
    assert lines == ["sitekit new-site: NAME: invalid site name '" + "x" * 57 + "...': lower-case letters and digits "
                     "in words joined by single hyphens, starting with a letter, at most 24 characters (e.g. "
                     "de-frankfurt)"]


def test_every_answer_is_reported_together(project, monkeypatch):
    lines = exits_2(run(project, monkeypatch, "new-site", "-j", "us", "-r", "us-ashburn-9", "--pue=0",
                        "--operator-cidr=10.0.0.0/33", "--", "Zz"))
    assert {line.split(":")[1].strip() for line in lines} == {"NAME", "--pue", "--operator-cidr", "--region",
                                                               "--home-region"}


def test_a_very_long_jurisdiction_code_is_refused_before_it_names_a_file(project, monkeypatch):
    lines = exits_2(run(project, monkeypatch, "new-jurisdiction", "x" * 300, "--regions", "us-ashburn-1"))
    assert lines == ["sitekit new-jurisdiction: CODE: invalid code '" + "x" * 57 + "...': an ISO 3166-1 alpha-2 code "
                     "in lower case, optionally with a suffix (e.g. de, ae-difc)"]


# ------------------------------------------------------------------------------------------------ prices
def git_repo(project: Path) -> Path:
    """The project copy as a git repository with one commit (what `sitekit review` compares with)."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(git + args, cwd=project, check=True, capture_output=True)
    return project


def test_review_refuses_a_bad_price_catalog_before_planning(project, monkeypatch):
    git_repo(project)
    _replace(project / "stacks/catalog/prices.yaml", "perHour: 32.00", "perHour: -1")
    started = time.perf_counter()
    lines = exits_2(run(project, monkeypatch, "review", "--mode", "offline", "--no-progress"))
    assert lines == ["stacks/catalog/prices.yaml:11: gpuShapes.BM.GPU.A100-v2.8.perHour: Input should be greater "
                     "than or equal to 0 (got -1)"]
    assert time.perf_counter() - started < 10, "refused before any site is planned"


def test_prices_are_read_as_validated_figures(root):
    from sitekit.run.cost import load_prices

    prices = load_prices(root)
    assert prices.recorded == "2026-12-02" and prices.hours == 730 and prices.gpu_shapes["BM.GPU.GB200.4"] is None
    assert prices.gpu_shapes["BM.GPU.H100.8"] == 80.0 and prices.lb_mbps_hour == 0.0001


# ------------------------------------------------------------------------------------------------ peers
def test_sites_lists_a_peer_with_a_malformed_plan_among_the_problems(project, monkeypatch):
    from test_fail_fixtures import install

    expected = install("peer-plan-malformed", project)
    result = run(project, monkeypatch, "sites")
    lines = exits_2(result)
    assert expected[0] in lines
    assert "stacks/Pulumi.peer-plan-broken.yaml:13: site.addressPlan.networks: expected a mapping, got a list" in lines
    assert "us-ashburn" in result.stdout  # the others are still listed


def test_the_plan_cache_names_files_from_the_listings_only(project):
    """A peer or jurisdiction named with 300 characters is no file name: keys are built, never a crash."""
    from sitekit.run.cache import SideKeys

    before = SideKeys(project).key("us-ashburn")
    _replace(project / "stacks/Pulumi.ar-patagonia.yaml", "sitekit:jurisdiction: ar", "sitekit:jurisdiction: " + "a" * 300)
    _replace(project / "stacks/Pulumi.us-ashburn.yaml", "    - site: br-saopaulo\n",
             "    - site: br-saopaulo\n    - site: " + "x" * 300 + "\n")
    keys = SideKeys(project)
    assert keys.key("ar-patagonia") and keys.key("us-ashburn") != before


# ------------------------------------------------------------------------------------------------ report paths
def _make(project: Path, what: str) -> None:
    """What stands at the path a case gives, in the project's scratch folder."""
    scratch = project / "scratch"
    scratch.mkdir()
    {"dir": lambda: (scratch / "dir").mkdir(), "file": lambda: (scratch / "file").write_text("mine\n"),
     "dangling": lambda: (scratch / "link").symlink_to("nowhere"), "loop": lambda: (scratch / "loop").symlink_to("loop"),
     "fifo": lambda: os.mkfifo(scratch / "fifo"), "none": lambda: None,
     "index-dir": lambda: (scratch / "site" / "index.html").mkdir(parents=True)}[what]()


REVIEW = ["review", "--mode", "offline", "--no-progress"]
PATHS = [
    (REVIEW + ["--output", "scratch/missing/report.md"], "none",
     "scratch/missing/report.md: --output: cannot write the report: folder 'scratch/missing' does not exist"),
    (REVIEW + ["--output", "scratch/dir"], "dir", "scratch/dir: --output: a folder, not a file"),
    (REVIEW + ["--output", "/dev/full"], "none",
     "/dev/full: --output: not a regular file (a device, pipe or socket); sitekit writes reports to files"),
    (REVIEW + ["--output", "scratch/fifo"], "fifo",
     "scratch/fifo: --output: not a regular file (a device, pipe or socket); sitekit writes reports to files"),
    (REVIEW + ["--output", "scratch/link"], "dangling",
     "scratch/link: --output: a symbolic link to 'nowhere', which does not exist; sitekit does not write through "
     "a link to nothing"),
    (REVIEW + ["--output", ""], "none", "sitekit: --output: an empty path; name the file to write"),
    (["policy", "us-ashburn", "--output", "scratch/link"], "dangling",
     "scratch/link: --output: a symbolic link to 'nowhere', which does not exist; sitekit does not write through "
     "a link to nothing"),
    (["policy", "us-ashburn", "--output", "scratch/file/report.md"], "file",
     "scratch/file/report.md: --output: 'scratch/file' is a file, not a folder"),
    (["fleet", "--html", "scratch/loop"], "loop",
     "scratch/loop: --html: a symbolic link loop (the link leads back to itself)"),
    (["fleet", "--html", "scratch/file"], "file", "scratch/file: --html: a file, not a folder"),
    (["fleet", "--html", "/dev/null"], "none", "/dev/null: --html: not a folder (a device, pipe or socket)"),
    (["fleet", "--html", "scratch/link"], "dangling",
     "scratch/link: --html: a symbolic link to 'nowhere', which does not exist; sitekit does not write through a "
     "link to nothing"),
    (["fleet", "--html", ""], "none", "sitekit: --html: an empty folder name; name the folder (`.` for this one)"),
    (["fleet", "--html", "scratch/site"], "index-dir", "scratch/site/index.html: --html: a folder, not a file"),
    (REVIEW + ["--preview-json", ""], "none", "sitekit: --preview-json: an empty folder name; name the folder "
                                              "(`.` for this one)"),
    (REVIEW + ["--preview-json", "scratch/loop"], "loop",
     "scratch/loop: --preview-json: a symbolic link loop (the link leads back to itself)"),
]


@pytest.mark.parametrize("args,make,line", PATHS, ids=[f"{a[0]}-{a[-2]}-{m}" for a, m, _ in PATHS])
def test_a_report_path_that_cannot_be_written_is_refused_before_any_work(project, monkeypatch, args, make, line):
    _make(project, make)
    started = time.perf_counter()
    assert exits_2(run(project, monkeypatch, *args)) == [line]
    assert time.perf_counter() - started < 5, "refused before any site is planned"
    assert not (project / "index.html").exists() and not (project / "scratch" / "nowhere").exists()


# ------------------------------------------------------------------------------------------------ preview documents
URN = "urn:pulumi:us-ashburn::sitekit::oci:Core/vcn:Vcn::us-ashburn-vcn-gpu"
PREVIEWS = [
    ('{"steps": [1, {"op": "create", "urn": "' + URN + '"}]}',
     ["{f}: steps.0: expected a step (a mapping), got an integer 1"]),
    ('{"steps": [{"op": "create", "newState": {"type": "oci:Core/vcn:Vcn"}}]}',
     ["{f}: steps.0.urn: required key is missing: every step names its resource's URN"]),
    ('{"steps": [{"op": "create", "urn": "nope"}, {"op": 5, "urn": "' + URN + '", "detailedDiff": [1]}]}',
     ["{f}: steps.0.urn: 'nope' is not a Pulumi URN (urn:pulumi:<stack>::<project>::<type>::<name>)",
      "{f}: steps.1.detailedDiff: expected a mapping, got a list",
      "{f}: steps.1.op: expected text, got an integer 5"]),
    ('{"steps": [{"op": "update", "urn": "' + URN + '", "newState": {"inputs": [1]}, "diffReasons": "x"}]}',
     ["{f}: steps.0.diffReasons: expected a list of text, got text 'x'",
      "{f}: steps.0.newState.inputs: expected a mapping, got a list"]),
    ('{"steps": [{"op": "update", "urn": "' + URN + '", "detailedDiff": {"a": null}, "replaceReasons": [null]}]}',
     ["{f}: steps.0.detailedDiff.a: expected a mapping, got null", "{f}: steps.0.replaceReasons.0: expected text, got null"]),
    ('{"steps": {"a": 1}, "diagnostics": ["boom", null]}',
     ["{f}: diagnostics.0: expected a mapping, got text 'boom'", "{f}: diagnostics.1: expected a mapping, got null",
      "{f}: steps: expected a list, got a mapping"]),
    ("[" * 100_000 + "]" * 100_000, ["{f}:1: nesting deeper than 64 levels; sitekit refuses deeper inputs"]),
    ('{"steps": [{"op": "create", "urn": "' + URN + '", "newState": {"inputs": ' + '{"a": ' * 70 + "1" + "}" * 70
     + '}}], "diagnostics": [{"severity": "error", "message": null}]}',
     ["{f}:1: nesting deeper than 64 levels; sitekit refuses deeper inputs"]),
    ('{"steps": [{"op": "create", "urn": "' + URN + '", "newState": {"inputs": {"size": NaN}}}]}',
     ["{f}:1: not JSON: NaN is not a number JSON allows"]),
    ('{"steps": [', ["{f}:1: not a `pulumi preview --json` document: Expecting value"]),
]


@pytest.mark.parametrize("text,lines", PREVIEWS, ids=range(len(PREVIEWS)))
def test_a_malformed_preview_document_is_refused_naming_the_file_and_the_step(tmp_path, text, lines):
    from sitekit.errors import SpecError
    from sitekit.review.preview import changes_from_preview, load_preview

    path = tmp_path / "us-ashburn.json"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        changes_from_preview(load_preview(path))
    assert str(info.value).splitlines() == [line.format(f=path) for line in lines]


def test_review_refuses_a_malformed_preview_document_before_planning(project, monkeypatch):
    git_repo(project)
    _make(project, "dir")
    (project / "scratch/dir/us-ashburn.json").write_text('{"steps": [[]]}')
    (project / "scratch/dir/br-saopaulo.json").symlink_to("nowhere.json")
    started = time.perf_counter()
    lines = exits_2(run(project, monkeypatch, *REVIEW, "--preview-json", "scratch/dir", "us-ashburn", "br-saopaulo"))
    assert lines == ["scratch/dir/br-saopaulo.json:1: a symbolic link to 'nowhere.json', which does not exist",
                     "scratch/dir/us-ashburn.json: steps.0: expected a step (a mapping), got a list"]
    assert time.perf_counter() - started < 10, "refused before any site is planned"


@pytest.mark.parametrize("text,line", [
    ("[" * 5000 + "]" * 5000, "{f}:1: nesting deeper than 64 levels; sitekit refuses deeper inputs"),
    ('{"all": NaN}', "{f}:1: not JSON: NaN is not a number JSON allows"),
    ("fifo", "{f}:1: not a regular file (a pipe, socket or device); sitekit reads only files"),
])
def test_a_policy_config_is_read_within_bounds(project, monkeypatch, text, line):
    config = project / "config.json"
    if text == "fifo":
        os.mkfifo(config)
    else:
        config.write_text(text)
    assert exits_2(run(project, monkeypatch, "policy", "us-ashburn", "--config", str(config))) == [line.format(f=config)]


# ------------------------------------------------------------------------------------------------ merge
@pytest.mark.parametrize("site,line", [
    ("ar-patagonia", "stacks/baseline.yaml:{n}: bootstrap.audit.groups.0: this item has no name, so "
                     "stacks/jurisdictions/ar.yaml would replace the whole list rather than merge into it by name; "
                     "name the item"),
    ("us-ashburn", "stacks/baseline.yaml:{n}: bootstrap.audit.groups.0.name: required key is missing"),
])
def test_a_baseline_item_without_its_name_is_refused_for_every_site(project, site, line):
    """A jurisdiction's list must not silently replace the baseline's because one baseline item lost its name."""
    from sitekit.errors import SpecError
    from sitekit.spec.loader import load_site

    base = project / "stacks/baseline.yaml"
    _replace(base, "      - name: identity\n        rules:", "      - rules:")
    n = next(i for i, text in enumerate(base.read_text().splitlines(), 1) if text == "      - rules:")
    with pytest.raises(SpecError) as info:
        load_site(project, site)
    assert line.format(n=n) in str(info.value).splitlines()


# ------------------------------------------------------------------------------------------------ links
def test_a_stack_file_linked_from_outside_the_project_is_refused(project, tmp_path_factory, monkeypatch):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "Pulumi.yaml"
    elsewhere.write_text((FIXTURES / "peer-one-sided/Pulumi.peer-one-sided.yaml").read_text()
                         .replace("  sitekit:peers:\n    - site: us-ashburn\n", ""))
    (project / "stacks/Pulumi.outside.yaml").symlink_to(elsewhere)
    line = f"stacks/Pulumi.outside.yaml:1: a symbolic link to '{elsewhere}', outside the project; sitekit reads only " \
           "the project's own files"
    assert exits_2(run(project, monkeypatch, "plan", "outside")) == [line]
    assert line in exits_2(run(project, monkeypatch, "sites"))


def test_a_profile_linked_from_outside_the_project_is_refused(project, tmp_path_factory):
    from sitekit.errors import SpecError
    from sitekit.spec.loader import load_site

    profile = project / "stacks/jurisdictions/us.yaml"
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "us.yaml"
    elsewhere.write_text(profile.read_text())
    profile.unlink()
    profile.symlink_to(elsewhere)
    with pytest.raises(SpecError) as info:
        load_site(project, "us-ashburn")
    assert str(info.value) == f"stacks/jurisdictions/us.yaml:1: a symbolic link to '{elsewhere}', outside the " \
                              "project; sitekit reads only the project's own files"


def test_a_link_inside_the_project_is_read(project):
    from sitekit.spec.loader import load_site

    profile = project / "stacks/jurisdictions/us.yaml"
    (project / "stacks/us-profile.yaml").write_text(profile.read_text())
    profile.unlink()
    profile.symlink_to("../us-profile.yaml")
    assert load_site(project, "us-ashburn").spec.jurisdiction.code == "us"


def test_a_preview_document_with_what_may_be_left_out_is_read(tmp_path):
    from sitekit.review.preview import changes_from_preview, load_preview

    path = tmp_path / "us-ashburn.json"
    path.write_text('{"steps": [{"op": "update", "urn": "' + URN + '", "oldState": null, "newState": null, '
                    '"diffReasons": null, "detailedDiff": null}], "diagnostics": [{"severity": "error", "message": null}]}')
    changes, errors = changes_from_preview(load_preview(path))
    assert [c.kind for c in changes] == ["update"] and errors == []
