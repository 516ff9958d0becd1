"""Fleet scale in CPU seconds: N stamped sites (`sitekit new-site` in a scratch copy) through `plan --all`,
`policy --all` and `review`, cold and warm, next to the frozen floor measured in the same run.

    python bench/scale_bench.py [--sizes 10,50] [--out bench/results/scale.md] [--write-readme] [--engine-site]
    python bench/scale_bench.py --against REV [--sizes 50] [--repeat 3]

For each N, in a scratch copy whose only sites are N stamped ones (jurisdictions and regions in turn; up to 192,
the whole organisation address space of three /10s carved in /16s), each command runs as a user runs it, in its
own process: cold with an empty `SITEKIT_CACHE_DIR`, warm with the one the run before filled. For each it records
wall seconds, CPU seconds (user + system of the whole process tree: `os.wait4` of the command, whose usage
includes every worker it waited for; load on the machine inflates wall time, much less CPU time), the machine's
1-minute load average when it started, and peak memory: the largest sum of PSS over the process tree (sampled
every 50 ms from /proc/PID/smaps_rollup: a page the forked workers share with the parent is split among them, so
the sum is the tree's real footprint; RSS where the kernel has no smaps_rollup) and the largest single process's
RSS (`ru_maxrss`).

The floor: one process that registers the same typed pulumi_oci resources with the same inputs (the cold plans'
own registrations replayed through the pulumi_oci classes under the same mocks) and nothing else (no spec, no
components, no rules), its collector frozen after the imports and after the first site as sitekit freezes it;
measured in the same run, its CPU seconds are what `policy --all --jobs 1` is compared with.

With --against REV (e.g. `--against 0792816`, main before issue 22) it instead runs cold `plan --all --format
json` at each size with REV's own code and with this tree's, in turn, `--repeat` pairs, and appends each run and
the median of the pairs' CPU ratios to the results file (`against`).

With --write-readme the README's block between `<!-- bench:scale -->` and `<!-- /bench:scale -->` is rewritten
from this run (`readme_block`); otherwise only the results file is written.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITEKIT = [str(Path(sys.executable).parent / "sitekit")]
PLACES = [("us", "us-ashburn-1"), ("br", "sa-saopaulo-1"), ("de", "eu-frankfurt-1"), ("ae", "me-dubai-1"),
          ("us", "us-phoenix-1"), ("br", "sa-vinhedo-1"), ("de", "eu-stockholm-1"), ("ae", "me-abudhabi-1"),
          ("us", "us-chicago-1"), ("us", "us-sanjose-1")]
AGAINST = "## `plan --all --format json`"  # how a section of `--against` starts in the results file
BEGIN, END = "<!-- bench:scale -->", "<!-- /bench:scale -->"
HEADER = "| sites | command | wall s | CPU s | load at start | peak MB (tree PSS / one process RSS) |"
ROW = re.compile(r"^\| (?P<sites>\d+) \| `(?P<command>[^`]+)`(?P<note>[^|]*) \| (?P<wall>\d+\.\d) \| (?P<cpu>\d+\.\d) \| "
                 r"(?P<load>\d+\.\d\d) \| (?P<tree>\d+) / (?P<one>\d+) \|$")


# ------------------------------------------------------------------------------------------------ measuring
@dataclass
class Measure:
    label: str
    wall: float
    cpu: float
    load: float
    tree_mb: float
    one_mb: float
    out: str = ""


def _tree_rss_kb(pid: int) -> int:
    """PSS of a process and all its descendants, from /proc (RSS where smaps_rollup is missing)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        for path, key in ((f"/proc/{p}/smaps_rollup", "Pss:"), (f"/proc/{p}/status", "VmRSS:")):
            try:
                with open(path) as fh:
                    total += next(int(line.split()[1]) for line in fh if line.startswith(key))
                break
            except (OSError, StopIteration, ValueError):
                continue
    return total


def run(label: str, cmd: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0, 1),
        into: Path | None = None) -> Measure:
    """Run a command to its end: wall and CPU seconds of its whole tree (`os.wait4`), load at start, peak memory;
    its output kept only in the file `into` when given (this process stays small: a child forked from it starts
    with its high-water RSS, which `ru_maxrss` would count)."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    sink = into.open("wb") if into is not None else subprocess.PIPE
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=sink, stderr=subprocess.PIPE)
    if into is not None:
        sink.close()
    chunks: dict[str, list[bytes]] = {"out": [], "err": []}

    def drain(stream, into):
        for block in iter(lambda: stream.read(1 << 16), b""):
            into.append(block)

    streams = [(proc.stderr, chunks["err"])] + ([(proc.stdout, chunks["out"])] if into is None else [])
    readers = [threading.Thread(target=drain, args=pair, daemon=True) for pair in streams]
    for r in readers:
        r.start()
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    for r in readers:
        r.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = b"".join(chunks["err"]).decode(errors="replace")
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
    m = Measure(label, wall, usage.ru_utime + usage.ru_stime, load, peak[0] / 1024, usage.ru_maxrss / 1024,
                b"".join(chunks["out"]).decode())
    print(f"  {label:44} {m.wall:7.1f} s wall {m.cpu:7.1f} CPU s  load {m.load:5.2f}  "
          f"{m.tree_mb:6.0f} / {m.one_mb:4.0f} MB", flush=True)
    return m


# ------------------------------------------------------------------------------------------------ scratch
STAMP_CHILD = """
import dataclasses
import sys
from pathlib import Path
from sitekit.stamp.request import Request
from sitekit.stamp.site import write_site
from datetime import date
root, places = Path(sys.argv[1]), [p.split(':') for p in sys.argv[2:]]
asks = {f.name for f in dataclasses.fields(Request)}
for name, code, region in places:
    # Germany's profile sets EnEfG section 11 limits by commissioning day (issue 22): its sites state one, at PUE 1.2
    # (a tree from before issue 22 has neither the limits nor the options: its new-site is asked for what it knows)
    energy = dict(pue=1.2, commissioned=date(2027, 1, 1), energy_reuse=0.2) if code == "de" else dict(pue=1.25)
    write_site(root, Request(name=name, jurisdiction=code, region=region, power_mw=20,
                             **{k: v for k, v in energy.items() if k in asks}))
"""


def site_names(n: int) -> list[tuple[str, str, str]]:
    return [(f"s{i:03d}-{PLACES[i % len(PLACES)][0]}", *PLACES[i % len(PLACES)]) for i in range(n)]


def scratch_fleet(folder: Path, n: int, env: dict[str, str], source: Path = ROOT) -> Path:
    """A copy of the project at `source` (its code too) whose sites are N stamped as its own `new-site` stamps
    them (in one process, to save the set-up's time), committed to git (for review). `env`'s PYTHONPATH must be
    `folder`: the copy's code stamps."""
    for name in ("Pulumi.yaml", "__main__.py", "pyproject.toml"):
        shutil.copy(source / name, folder / name)
    for sub in ("stacks", "templates", "schema", "policies", "sitekit"):
        if (source / sub).is_dir():
            shutil.copytree(source / sub, folder / sub, ignore=shutil.ignore_patterns("__pycache__"))
    for stack in (folder / "stacks").glob("Pulumi.*.yaml"):
        stack.unlink()
    subprocess.run([sys.executable, "-c", STAMP_CHILD, str(folder)] + [":".join(p) for p in site_names(n)],
                   cwd=folder, env=env, check=True)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.email=b@example.com", "-c", "user.name=b", "commit", "-qm", "fleet"]):
        subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)
    return folder


# ------------------------------------------------------------------------------------------------ floor
def floor_child(plans_file: str) -> None:
    """Register the plans' resources through the pulumi_oci classes with the same inputs, under the same mocks."""
    import gc
    import importlib

    import pulumi
    from pulumi.runtime import settings as pulumi_settings

    from sitekit.engine.schema import args_class, schema_of
    from sitekit.run.offline import RecordingMonitor, SiteMocks, without_stack_traces

    plans = json.loads(Path(plans_file).read_text())["sites"]
    gc.collect()
    gc.freeze()
    total = 0
    for plan in plans:
        monitor = RecordingMonitor(SiteMocks("us-ashburn-1"), stack=plan["site"])
        pulumi_settings.ROOT.set(None)
        pulumi.runtime.set_mocks(monitor.mocks, project="sitekit", stack=plan["site"], preview=False, monitor=monitor)

        @pulumi.runtime.test
        def replay(plan=plan):
            made: dict[str, pulumi.Resource] = {}
            for r in plan["resources"]:
                parent = made.get(r["parent"])
                provider = made.get((r["provider"] or "").rsplit("::", 1)[0])
                opts = pulumi.ResourceOptions(parent=parent, provider=provider, protect=r["protect"] or None)
                if not r["custom"]:
                    made[r["urn"]] = pulumi.ComponentResource(r["type"], r["name"], None, opts)
                    continue
                cls_args = args_class(r["type"])
                schema = schema_of(r["type"])
                kwargs = {schema.fields[k].py_name: v for k, v in r["inputs"].items()
                          if v != "[secret]" and k in schema.fields}
                module = importlib.import_module(cls_args.__module__.rsplit(".", 1)[0]) \
                    if r["type"] != "pulumi:providers:oci" else importlib.import_module("pulumi_oci")
                cls = getattr(module, cls_args.__name__[:-4])
                made[r["urn"]] = cls(r["name"], opts=opts, **kwargs)

        with without_stack_traces():  # as sitekit plans offline
            replay()
        total += len(monitor.registered)
        if plan is plans[0]:  # the lazily loaded pulumi_oci modules are in: never garbage
            gc.collect()
            gc.freeze()
    sys.stdout.write(json.dumps({"registered": total}))


# ------------------------------------------------------------------------------------------------ one size
def measure_size(n: int, opts, env_base: dict[str, str]) -> list[Measure]:
    with tempfile.TemporaryDirectory(prefix=f"sitekit-scale-{n}-") as tmp:
        env = dict(env_base, NO_COLOR="1", PYTHONPATH=str(Path(tmp) / "fleet"))
        (Path(tmp) / "fleet").mkdir()
        t = time.perf_counter()
        project = scratch_fleet(Path(tmp) / "fleet", n, env)
        print(f"N={n}: stamped in {time.perf_counter() - t:.0f} s", flush=True)
        cache = Path(tmp) / "cache"
        env["SITEKIT_CACHE_DIR"] = str(cache)
        rows: list[Measure] = []

        def sk(label: str, *args: str, cold: bool, into: Path | None = None) -> Measure:
            if cold:
                shutil.rmtree(cache, ignore_errors=True)
            command, _, note = label.partition(" (")
            note = f"{'cold' if cold else 'warm'}{', ' + note.rstrip(')') if note else ''}"
            m = run(f"{command} ({note})", [*SITEKIT, *args, "--no-progress"], project, env, into=into)
            rows.append(m)
            return m

        plans_file = Path(tmp) / "plans.json"  # `plan --all --format json`: {"sites": [plan, ...]}
        sk("plan --all --format json", "plan", "--all", "--format", "json", cold=True, into=plans_file)
        sk("plan --all --format json", "plan", "--all", "--format", "json", cold=False)
        rows.append(run("floor (typed registrations under mocks, frozen)", [sys.executable, __file__, "--floor-child",
                                                                str(plans_file)], project, env))
        for jobs in opts.jobs.split(","):
            sk(f"policy --all --jobs {jobs}", "policy", "--all", "--jobs", jobs, cold=True)
        sk("policy --all", "policy", "--all", cold=False)
        baseline = project / "stacks/baseline.yaml"
        original = baseline.read_text()
        baseline.write_text(original.replace("costCentre: ai-infrastructure", "costCentre: ai-platform"))
        sk("review --mode offline (a baseline change every site inherits)", "review", "--mode", "offline", "--format", "json", cold=True)
        sk("review --mode offline (a baseline change every site inherits)", "review", "--mode", "offline", "--format", "json", cold=False)
        baseline.write_text(original)
        stack = project / f"stacks/Pulumi.{site_names(1)[0][0]}.yaml"  # one site's first pool shrinks by 8 nodes
        stack.write_text(re.sub(r"nodes: (\d+)", lambda m: f"nodes: {int(m.group(1)) - 8}", stack.read_text(), count=1))
        sk("review --mode offline (a change to one site)", "review", "--mode", "offline", "--format", "json", cold=False)
        if opts.engine_site:
            sk("review --mode engine (a change to one site)", "review", site_names(1)[0][0], "--mode", "engine", "--format", "json",
               cold=False)
        for m in rows:
            m.out = ""
        return rows


# ------------------------------------------------------------------------------------------------ against REV
def export_rev(rev: str, dest: Path) -> str:
    """REV's tree (`git archive`) in `dest`; its full commit."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"], check=True,
                            capture_output=True, text=True).stdout.strip()
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return commit


def median(values: list[float]) -> float:
    s = sorted(values)
    return (s[(len(s) - 1) // 2] + s[len(s) // 2]) / 2


def against(rev: str, n: int, repeat: int, env_base: dict[str, str]) -> list[str]:
    """Cold `plan --all --format json` at N sites with REV's own code and with this tree's, in turn, `repeat`
    pairs (which side goes first alternates): each side plans a fleet stamped by its own `new-site` (same names,
    jurisdictions, regions and power; the older tree's `new-site` is asked only for what it knows), from a copy of
    its own tree, in the same virtual environment. Lines of Markdown: each run, and the median of the pairs'
    CPU ratios (this tree / REV) and wall ratios."""
    with tempfile.TemporaryDirectory(prefix=f"sitekit-against-{n}-") as tmp:
        commit = export_rev(rev, Path(tmp) / "rev")
        sides = {}
        for side, source in (("rev", Path(tmp) / "rev"), ("tree", ROOT)):
            fleet = Path(tmp) / f"fleet-{side}"
            fleet.mkdir()
            env = dict(env_base, NO_COLOR="1", PYTHONPATH=str(fleet), SITEKIT_CACHE_DIR=str(Path(tmp) / f"cache-{side}"))
            scratch_fleet(fleet, n, env, source)
            sides[side] = (fleet, env)
        label = {"rev": rev if commit.startswith(rev) else f"{rev} ({commit[:7]})", "tree": "this tree"}
        runs: dict[str, list[Measure]] = {"rev": [], "tree": []}
        for i in range(repeat):
            for side in (("rev", "tree") if i % 2 == 0 else ("tree", "rev")):
                fleet, env = sides[side]
                shutil.rmtree(env["SITEKIT_CACHE_DIR"], ignore_errors=True)
                runs[side].append(run(f"{label[side]}: plan --all --format json (cold, pair {i + 1})",
                                      [*SITEKIT, "plan", "--all", "--format", "json", "--no-progress"], fleet, env,
                                      ok=(0,), into=Path(tmp) / f"plans-{side}.json"))
            planned = {side: len(json.loads((Path(tmp) / f"plans-{side}.json").read_text())["sites"])
                       for side in runs}
            if set(planned.values()) != {n}:
                raise SystemExit(f"not every site planned: {planned}")
    cpu = [t.cpu / r.cpu for r, t in zip(runs["rev"], runs["tree"])]
    wall = [t.wall / r.wall for r, t in zip(runs["rev"], runs["tree"])]
    lines = [f"{AGAINST} at {n} sites, cold: this tree against {rev} ({commit[:12]}), "
             f"{time.strftime('%Y-%m-%d %H:%M')}", "",
             f"`python bench/scale_bench.py --against {rev} --sizes {n} --repeat {repeat}`: each side's own code "
             "(PYTHONPATH to a copy of its tree) in the same virtual environment, each planning a fleet stamped by "
             "its own `new-site`; the sides run in turn, the first alternating.", "",
             "| pair | side | wall s | CPU s | load at start |", "|---:|---|---:|---:|---:|"]
    for i in range(repeat):
        for side in ("rev", "tree"):
            m = runs[side][i]
            lines.append(f"| {i + 1} | {label[side]} | {m.wall:.1f} | {m.cpu:.1f} | {m.load:.2f} |")
    lines += ["", f"- median of the pairs' ratios, this tree / {rev}: {median(cpu):.3f}x CPU "
                  f"({', '.join(f'{r:.3f}' for r in cpu)}), {median(wall):.3f}x wall "
                  f"({', '.join(f'{r:.3f}' for r in wall)})", ""]
    print("\n".join(lines), flush=True)
    return lines


# ------------------------------------------------------------------------------------------------ report
def table(results: dict[int, list[Measure]]) -> list[str]:
    lines = [HEADER, "|---:|---|---:|---:|---:|---:|"]
    for n, rows in results.items():
        for m in rows:
            command, _, note = m.label.partition(" (")
            note = f" ({note}" if note else ""
            lines.append(f"| {n} | `{command}`{note} | {m.wall:.1f} | {m.cpu:.1f} | {m.load:.2f} | "
                         f"{m.tree_mb:.0f} / {m.one_mb:.0f} |")
    return lines


def ratios(results: dict[int, list[Measure]], jobs: list[str]) -> list[str]:
    """Ratios within each size's run: what the aims are judged by on a shared machine."""
    lines = []
    for n, rows in results.items():
        by = {m.label: m for m in rows}
        one = by.get("policy --all --jobs 1 (cold)")
        floor = by.get("floor (typed registrations under mocks, frozen)")
        parts = []
        if one and floor:
            parts.append(f"`policy --all --jobs 1` / floor: {one.cpu / floor.cpu:.2f}x CPU")
        for j in jobs:
            many = by.get(f"policy --all --jobs {j} (cold)")
            if one and many and j != "1":
                parts.append(f"`--jobs {j}` / `--jobs 1`: {many.cpu / one.cpu:.2f}x CPU, {many.wall / one.wall:.2f}x wall")
        if parts:
            lines.append(f"- {n} sites: " + "; ".join(parts))
    sizes = sorted(results)
    if len(sizes) > 1:
        a, b = sizes[0], sizes[-1]
        first, last = {m.label: m for m in results[a]}, {m.label: m for m in results[b]}
        worst = max(((last[k].cpu / first[k].cpu) / (b / a), k) for k in first if k in last and first[k].cpu > 0)
        lines.append(f"- {a} to {b} sites: the command whose CPU grew most against linear: `{worst[1]}`, "
                     f"{worst[0]:.2f}x linear")
    return lines


def readme_block(results: dict[int, list[Measure]], jobs: list[str], cores: int) -> str:
    """The README's table, between the markers (format checked by tests/test_bench_block.py)."""
    return "\n".join([BEGIN, f"Measured {time.strftime('%Y-%m-%d')} on {cores} cores by `python bench/scale_bench.py "
                             f"--sizes ... --write-readme` (sizes {', '.join(map(str, results))}; a size another run "
                             "measured is kept with `--keep-sizes`); load = the 1-minute load average when the "
                             "command started (the machine is shared).", "",
                      *table(results), "", *ratios(results, jobs), END])


def read_block(text: str) -> dict[int, list[Measure]]:
    """The rows of the README's block, by size, as Measures (what `table` wrote)."""
    out: dict[int, list[Measure]] = {}
    if BEGIN not in text:
        return out
    for line in text.split(BEGIN)[1].split(END)[0].splitlines():
        m = ROW.match(line)
        if m:
            out.setdefault(int(m["sites"]), []).append(Measure(
                f"{m['command']}{m['note']}", float(m["wall"]), float(m["cpu"]), float(m["load"]), float(m["tree"]),
                float(m["one"])))
    return out


def write_readme(readme: Path, block: str) -> None:
    text = readme.read_text()
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise SystemExit(f"{readme}: expected one {BEGIN} ... {END} block")
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    readme.write_text(head + block + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,50")
    parser.add_argument("--jobs", default="1,2", help="the --jobs of cold `policy --all` runs (default 1,2)")
    parser.add_argument("--out", default=str(ROOT / "bench/results/scale.md"))
    parser.add_argument("--write-readme", action="store_true", help="rewrite the README's bench:scale block")
    parser.add_argument("--keep-sizes", action="store_true",
                        help="keep the README block's rows of sizes this run does not measure (each row keeps its load)")
    parser.add_argument("--engine-site", action="store_true", help="also time engine-mode review of one site")
    parser.add_argument("--against", metavar="REV",
                        help="instead: cold `plan --all --format json` with REV's own code (git archive) and this "
                             "tree's, in turn, at each size; appended to --out")
    parser.add_argument("--repeat", type=int, default=3, help="pairs of runs with --against (default 3)")
    parser.add_argument("--floor-child", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.floor_child:
        floor_child(opts.floor_child)
        return
    cores = len(os.sched_getaffinity(0))
    env = {k: v for k, v in os.environ.items() if k not in ("SITEKIT_CACHE_DIR", "PYTHONPATH")}
    if opts.against:
        out = Path(opts.out)
        for n in [int(x) for x in opts.sizes.split(",")]:
            lines = against(opts.against, n, opts.repeat, env)
            with out.open("a") as fh:
                fh.write("\n" + "\n".join(lines))
        print(f"appended to {out}")
        return
    results = {n: measure_size(n, opts, env) for n in [int(x) for x in opts.sizes.split(",")]}
    if opts.keep_sizes:  # the other sizes' rows of the README's block, from the runs that measured them
        kept = read_block((ROOT / "README.md").read_text())
        results = {n: results.get(n) or kept[n] for n in sorted(set(results) | set(kept))}
    jobs = opts.jobs.split(",")
    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    kept = ""  # the --against sections of earlier runs stay
    if out.is_file() and AGAINST in out.read_text():
        kept = "\n" + AGAINST + out.read_text().split(AGAINST, 1)[1]
    out.write_text("\n".join([f"# sitekit at fleet scale ({time.strftime('%Y-%m-%d %H:%M')}, {cores} cores, "
                              "`python bench/scale_bench.py`)", "", __doc__.split("\n\n", 2)[2].strip(), "",
                              *table(results), "", *ratios(results, jobs)]) + "\n" + kept)
    print(f"wrote {out}")
    if opts.write_readme:
        write_readme(ROOT / "README.md", readme_block(results, jobs, cores))
        print("rewrote README.md's bench:scale block")


if __name__ == "__main__":
    main()
