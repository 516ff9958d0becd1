"""Bad input never crashes, never slips through, never hangs: generated inputs for every file kind and argument.

The families (tests/fuzzing.py) run in-process through `load_site`, the loader every command uses (the price
catalog as fleet and review read it, preview documents as `review --preview-json` reads them, `new-site`,
`new-jurisdiction` and report paths through the `sitekit` app); a sample runs through `sitekit plan` and
`sitekit policy` as subprocesses. Every outcome must be a load, or a refusal whose every line is `file:line: ...`
(or `where: key: ...` for an argument or a JSON document) of at most 1,000 characters; a rule case must be
refused naming its file and key; nothing may take longer than a few seconds.

How many: `make test` runs every rule case, hostile document and filesystem case on every file kind and every
rule of the newer surfaces (exhaustive, about 1,000 inputs), 300 seeded Hypothesis examples across the file
families and 100 across the newer surfaces, and 4 CLI subprocesses. `SITEKIT_FUZZ_EXAMPLES=10000` (nightly)
runs 10,000 and 3,333 Hypothesis examples and 100 CLI subprocesses (`SITEKIT_FUZZ_CLI_EXAMPLES` to choose). The
examples are derandomized: the same inputs on every run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from fuzzing import (
    FILES,
    FS_OPS,
    HANG_SECONDS,
    LINE,
    NEW_JURISDICTION_RULES,
    NEW_SITE_RULES,
    PEER_PLANS,
    PREVIEW_FILE,
    PREVIEW_RULES,
    PROFILES,
    RULES,
    SITES,
    STACKS,
    Case,
    Pristine,
    all_cases,
    fs_case,
    hostile_documents,
    new_jurisdiction_case,
    new_site_case,
    newer_cases,
    output_cases,
    peer_case,
    preview_hostile,
    preview_rule_case,
    rule_case,
    run_case,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitekit import ROOT
from sitekit.spec.loader import load_site

EXAMPLES = int(os.environ.get("SITEKIT_FUZZ_EXAMPLES", "300"))
NEWER_EXAMPLES = max(20, EXAMPLES // 3)
"""Generated inputs of the newer surfaces (peers' stack files, `new-site` arguments, preview documents)."""
CLI_EXAMPLES = int(os.environ.get("SITEKIT_FUZZ_CLI_EXAMPLES", str(max(4, EXAMPLES // 100))))
PRISTINE = Pristine(ROOT)
SEEDED = dict(derandomize=True, database=None, deadline=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
TALLY: Counter = Counter()


@pytest.fixture(scope="module")
def fuzz_project(tmp_path_factory, make_project):
    """One copy of the project for the module; each case restores the file it replaced."""
    project = make_project(tmp_path_factory.mktemp("fuzz"))
    yield project
    if TALLY:
        line = ", ".join(f"{k}={v}" for k, v in sorted(TALLY.items()))
        report = os.environ.get("SITEKIT_FUZZ_REPORT")
        if report:
            Path(report).write_text(line + "\n")
        print(f"\nfuzz outcomes: {line}")


def check(project: Path, case: Case) -> None:
    outcome = run_case(project, PRISTINE, case, load_site)
    TALLY[f"{case.family}:{outcome.kind}"] += 1
    assert outcome.kind in ("ok", "refused"), f"{case!r}: {outcome.kind}: {outcome.detail}\n" + "\n".join(outcome.lines[:5])
    assert outcome.seconds < HANG_SECONDS


# ------------------------------------------------------------------------------------------------ exhaustive
RULE_CASES = [(name, i, site) for name, _, values in RULES for i in range(len(values)) for site in sorted(SITES)]


@pytest.mark.parametrize("name,index,site", RULE_CASES, ids=[f"{n}-{i}-{s}" for n, i, s in RULE_CASES])
def test_an_input_that_breaks_a_documented_rule_is_refused_naming_file_and_key(fuzz_project, name, index, site):
    case = rule_case(PRISTINE, site, name, index)
    outcome = run_case(fuzz_project, PRISTINE, case, load_site)
    TALLY[f"rule:{outcome.kind}"] += 1
    assert outcome.kind == "refused", f"{case!r}: {outcome.kind}: {outcome.detail}\n" + "\n".join(outcome.lines[:5])


HOSTILE = [(file, name) for file in FILES for name in sorted(hostile_documents(file, PRISTINE.raw[file]))]


@pytest.mark.parametrize("file,name", HOSTILE, ids=[f"{f.rsplit('/', 1)[1]}-{n}" for f, n in HOSTILE])
def test_a_hostile_document_is_refused_quickly_or_loads(fuzz_project, file, name):
    site = STACKS.get(file) or PROFILES.get(file) or "us-ashburn"
    case = Case("hostile", file, site, hostile_documents(file, PRISTINE.raw[file])[name], note=name)
    started = time.perf_counter()
    check(fuzz_project, case)
    assert time.perf_counter() - started < 2.0, "bounds are checked as the file is read: refusal is quick"


FS = [(file, op) for file in FILES for op in FS_OPS]


@pytest.mark.parametrize("file,op", FS, ids=[f"{f.rsplit('/', 1)[1]}-{o}" for f, o in FS])
def test_what_is_not_a_readable_file_is_refused_at_its_name(fuzz_project, file, op):
    site = STACKS.get(file) or PROFILES.get(file) or "us-ashburn"
    check(fuzz_project, fs_case(file, site, op))


# ------------------------------------------------------------------------------------------------ newer surfaces
def refused(project: Path, case: Case) -> None:
    outcome = run_case(project, PRISTINE, case, load_site)
    TALLY[f"{case.family}:{outcome.kind}"] += 1
    assert outcome.kind == "refused", f"{case!r}: {outcome.kind}: {outcome.detail}\n" + "\n".join(outcome.lines[:5])


PEERS = [(file, i) for file in sorted(STACKS) for i in range(len(PEER_PLANS))]


@pytest.mark.parametrize("file,index", PEERS, ids=[f"{STACKS[f]}-{PEER_PLANS[i][0]}-{i}" for f, i in PEERS])
def test_a_peers_malformed_address_plan_is_reported_at_the_peer_entry(fuzz_project, file, index):
    refused(fuzz_project, peer_case(PRISTINE, file, *PEER_PLANS[index]))


NEW_SITE = [(option, i) for option, _, values in NEW_SITE_RULES for i in range(len(values))]


@pytest.mark.parametrize("option,index", NEW_SITE, ids=[f"{o}-{i}" for o, i in NEW_SITE])
def test_a_bad_new_site_argument_is_refused_naming_it(fuzz_project, option, index):
    refused(fuzz_project, new_site_case(option, index))


@pytest.mark.parametrize("index", range(len(NEW_JURISDICTION_RULES)))
def test_a_bad_new_jurisdiction_argument_is_refused_naming_it(fuzz_project, index):
    refused(fuzz_project, new_jurisdiction_case(index))


OUTPUTS = output_cases()


@pytest.mark.parametrize("case", OUTPUTS, ids=[c.note.replace(" ", "_") for c in OUTPUTS])
def test_a_report_path_that_cannot_be_written_is_refused_naming_it(fuzz_project, case):
    started = time.perf_counter()
    refused(fuzz_project, case)
    assert time.perf_counter() - started < 2.0, "paths are checked before any work"


@pytest.mark.parametrize("index", range(len(PREVIEW_RULES)), ids=[r[0] for r in PREVIEW_RULES])
def test_a_malformed_preview_document_is_refused_naming_the_step(fuzz_project, index):
    refused(fuzz_project, preview_rule_case(index))


@pytest.mark.parametrize("name", sorted(preview_hostile()))
def test_a_hostile_preview_document_is_refused_or_read(fuzz_project, name):
    check(fuzz_project, Case("hostile", PREVIEW_FILE, "", preview_hostile()[name], reads="preview", note=name))


# ------------------------------------------------------------------------------------------------ generated
@settings(max_examples=EXAMPLES, **SEEDED)
@given(case=all_cases(PRISTINE))
def test_generated_inputs_load_or_are_refused_at_file_and_line(fuzz_project, case):
    check(fuzz_project, case)


@settings(max_examples=NEWER_EXAMPLES, **SEEDED)
@given(case=newer_cases(PRISTINE))
def test_generated_inputs_of_the_newer_surfaces_are_refused_or_taken(fuzz_project, case):
    check(fuzz_project, case)


# ------------------------------------------------------------------------------------------------ the CLI
SITEKIT = str(Path(sys.executable).parent / "sitekit")


@settings(max_examples=CLI_EXAMPLES, **SEEDED)
@given(case=all_cases(PRISTINE), command=st.sampled_from(["plan", "policy"]))
def test_a_sample_through_the_cli_exits_0_1_or_2_without_a_traceback(fuzz_project, case, command):
    from fuzzing import install, restore

    install(fuzz_project, PRISTINE, case)
    try:
        started = time.perf_counter()
        result = subprocess.run([SITEKIT, command, case.site], cwd=fuzz_project, capture_output=True, text=True,
                                timeout=120)
        seconds = time.perf_counter() - started
    finally:
        restore(fuzz_project, PRISTINE, case)
    TALLY[f"cli-{command}:exit-{result.returncode}"] += 1
    allowed = (0, 2) if command == "plan" else (0, 1, 2)
    assert result.returncode in allowed, f"{case!r}\n{result.stderr[-2000:]}"
    assert "Traceback" not in result.stderr, f"{case!r}\n{result.stderr[-2000:]}"
    if case.expect:
        assert result.returncode == 2, f"{case!r} was not refused"
    if result.returncode == 2:
        lines = result.stderr.splitlines()
        assert lines and all(LINE.match(line) for line in lines), f"{case!r}\n{result.stderr[-2000:]}"
    assert seconds < 60


# ------------------------------------------------------------------------------------------------ every command
COMMANDS = [["sites"], ["explain", "us-ashburn"], ["new-site", "zz-new", "-j", "us", "-r", "us-ashburn-1"],
            ["new-jurisdiction", "zz", "--regions", "us-ashburn-1"]]
BROKEN = ["empty", "list", "binary", "alias-bomb", "python-tag", "deep-nesting", "dir", "dangling"]
SHARED_FILES = ["stacks/baseline.yaml", "stacks/catalog/shapes.yaml", "stacks/catalog/regions.yaml",
                "stacks/jurisdictions/us.yaml"]


def _broken(file: str, name: str) -> Case:
    if name in FS_OPS:
        return fs_case(file, "us-ashburn", name)
    return Case("hostile", file, "us-ashburn", hostile_documents(file, PRISTINE.raw[file])[name], note=name)


@pytest.mark.parametrize("file", SHARED_FILES)
@pytest.mark.parametrize("name", BROKEN + ["organisation-5", "compute-list", "networks-5"])
def test_every_command_refuses_a_broken_shared_file_at_its_line(fuzz_project, monkeypatch, file, name):
    """Not only plan and policy: the commands that read the baseline, catalog or profiles without planning."""
    from fuzzing import _copy, _dump, install, restore
    from typer.testing import CliRunner

    from sitekit.cli.main import app

    if name in ("organisation-5", "compute-list", "networks-5"):
        data = _copy(PRISTINE.data[file])
        key = {"organisation-5": ("organisation", 5), "compute-list": ("compute", []), "networks-5": ("network", {"networks": 5})}[name]
        data[key[0]] = key[1]
        case = Case("data", file, "us-ashburn", _dump(data), note=name)
    else:
        case = _broken(file, name)
    monkeypatch.chdir(fuzz_project)
    install(fuzz_project, PRISTINE, case)
    try:
        for command in COMMANDS:
            result = CliRunner().invoke(app, command)
            for made in ("stacks/Pulumi.zz-new.yaml", "stacks/jurisdictions/zz.yaml"):
                (fuzz_project / made).unlink(missing_ok=True)
            assert result.exit_code in (0, 2), f"{command} {case!r}: {result.exception!r}\n{result.output[-1500:]}"
            assert isinstance(result.exception, (SystemExit, type(None))), f"{command} {case!r}: {result.exception!r}"
            if result.exit_code == 2:
                lines = result.stderr.splitlines()
                assert lines and all(LINE.match(line) for line in lines), f"{command} {case!r}\n{result.stderr}"
    finally:
        restore(fuzz_project, PRISTINE, case)
