"""The YAML reader (sitekit/spec/sources.py): libyaml, line marks, plain data only, bounds, and one parse per file.

Also the engine's way in: integer config handed over as text by `pulumi.Config`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest
import yaml

from sitekit.errors import SpecError
from sitekit.spec import sources
from sitekit.spec.layout import list_sites
from sitekit.spec.loader import load_site
from sitekit.spec.sources import load_yaml, parse_yaml


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_yaml(text, "f.yaml")
    return [str(p) for p in info.value.problems]


# ----------------------------------------------------------------------------------------------- libyaml, once
def test_loading_sites_uses_libyaml_and_parses_each_file_once(make_project, tmp_path, monkeypatch):
    """Three loads of every site: each file is parsed once, by libyaml (the pure-Python parser never runs)."""
    project = make_project(tmp_path)
    sources.clear_cache()  # earlier tests in this process read the same files
    parsed: list[str] = []
    real = sources._parse
    monkeypatch.setattr(sources, "_parse", lambda text, file: parsed.append(file) or real(text, file))
    monkeypatch.setattr(yaml.parser.Parser, "check_event", lambda *a: pytest.fail("pure-Python YAML parser used"))
    assert issubclass(sources._Loader, yaml.CSafeLoader)
    for _ in range(3):
        for site in list_sites(project):
            load_site(project, site)
    files = {f"stacks/Pulumi.{s}.yaml" for s in list_sites(project)} | {
        "stacks/baseline.yaml", "stacks/catalog/shapes.yaml", "stacks/catalog/regions.yaml", "stacks/catalog/racks.yaml",
        "stacks/jurisdictions/us.yaml", "stacks/jurisdictions/ar.yaml", "stacks/jurisdictions/br.yaml"}
    assert sorted(parsed) == sorted(files)


def test_a_file_rewritten_in_the_same_clock_tick_is_read_again(tmp_path):
    """Same size, same mtime (a second write in one tick): the cache compares content, not only stat."""
    path = tmp_path / "f.yaml"
    path.write_text("a: 1\n")
    before = path.stat()
    assert load_yaml(path)[0] == {"a": 1}
    path.write_text("a: 2\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert load_yaml(path)[0] == {"a": 2}


def test_a_file_older_than_the_racy_window_is_trusted_on_its_stat(tmp_path, monkeypatch):
    path = tmp_path / "f.yaml"
    path.write_text("a: 1\n")
    old = path.stat().st_mtime_ns - 10 * sources.RACY_NS
    os.utime(path, ns=(old, old))
    assert load_yaml(path)[0] == {"a": 1}
    monkeypatch.setattr(sources, "_read", lambda *a: pytest.fail("read again although unchanged"))
    assert load_yaml(path)[0] == {"a": 1}


def test_each_caller_gets_its_own_copy(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("a: {b: [1, 2]}\n")
    data, marks = load_yaml(path)
    data["a"]["b"].append(3)
    marks.clear()
    again, marks_again = load_yaml(path)
    assert again == {"a": {"b": [1, 2]}} and marks_again[("a", "b", 1)] == 1


# ----------------------------------------------------------------------------------------------- marks
def test_marks_name_list_items_by_name_and_follow_aliases():
    data, marks = parse_yaml("base: &b\n  x: 1\n  y: [2]\nuse: *b\nitems:\n  - name: gpu\n    size: 4\n  - 7\n", "f")
    assert data["use"] == {"x": 1, "y": [2]} and data["use"] is not data["base"]
    assert marks[("use",)] == 4 and marks[("use", "x")] == 2 and marks[("use", "y", 0)] == 3
    assert marks[("items", "gpu", "size")] == 7 and marks[("items", 1)] == 8


# ----------------------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("text,expected", [
    ("a: !!python/object/apply:os.system ['true']\n",
     "f.yaml:1: a: YAML tag '!!python/object/apply:os.system' is not allowed; sitekit reads plain data "
     "(allowed: !!str, !!int, !!float, !!bool, !!null, !!timestamp, !!map, !!seq)"),
    ("a: !!binary aGk=\n", "f.yaml:1: a: YAML tag '!!binary' is not allowed; sitekit reads plain data "
                           "(allowed: !!str, !!int, !!float, !!bool, !!null, !!timestamp, !!map, !!seq)"),
    ("a: {<<: {b: 1}}\n", "f.yaml:1: a: YAML merge keys (<<) are not supported; write the keys out, so each value "
                          "has one line that sets it"),
    ("? {k: v}\n: x\n", "f.yaml:1: a key must be a single value, not a mapping"),
    ("1: x\n", "f.yaml:1: key '1' is read as an integer; keys are text (quote it: '1')"),
    ("a: &a [*a]\n", "f.yaml:1: a.0: alias *a is inside the value it names (a recursive alias)"),
    ("a: *nope\n", "f.yaml:1: a: alias *nope names no anchor (&nope) before it"),
    ("a: " + "9" * 5000 + "\n", "f.yaml:1: a: '" + "9" * 57 + "...' is not a valid !!int (an integer of 5,000 digits)"),
    ("a: 2023-02-30\n", "f.yaml:1: a: '2023-02-30' is not a valid !!timestamp: day is out of range for month"),
    ("a: !!int x\n", "f.yaml:1: a: 'x' is not a valid !!int"),
    ("a: 1\n---\nb: 2\n", "f.yaml:2: a second YAML document ('---'); a file holds one document (the first starts at line 1)"),
    ("", "f.yaml:1: the file is empty; it must be a mapping of keys to values"),
    ("# only a comment\n", "f.yaml:1: the file is empty; it must be a mapping of keys to values"),
    ("~\n", "f.yaml:1: the file holds null (~); it must be a mapping of keys to values"),
    ("- a\n", "f.yaml:1: the file holds a list; it must be a mapping of keys to values"),
    ("a: b\x00c\n", "f.yaml:1: a NUL byte: this is a binary file, not YAML text"),
    ("a:\n  b: \x07\n", "f.yaml:2: YAML syntax error: character U+0007 is not allowed in YAML (special characters are not allowed)"),
    ('"a\\nb": 1\n"a\\nb": 2\n', "f.yaml:2: a\\nb: duplicate key"),
])
def test_what_is_not_plain_data_is_refused_at_its_line(text, expected):
    assert problems(text) == [expected]


def test_nesting_and_values_are_bounded_and_refused_quickly():
    import time

    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9))
    for text in (bomb, "a: " + "[" * 5000 + "]" * 5000 + "\n", "a: " + "[" * 65 + "]" * 65 + "\n",
                 "".join(f"k{i}: {i}\n" for i in range(20_000))):
        started = time.perf_counter()
        (line,) = problems(text)
        assert time.perf_counter() - started < 1.0
        assert "more than 10,000 values" in line or "nesting deeper than 64 levels" in line, line
    parse_yaml("a: " + "[" * 63 + "]" * 63 + "\n", "f")  # at the bound: fine


@pytest.mark.parametrize("raw,expected", [
    (b"a: caf\xe9\n", "f.yaml:1: not UTF-8 text (byte 0xe9 cannot start or continue a character); save the file as UTF-8"),
    ("a: 1\n".encode("utf-16"), "f.yaml:1: UTF-16 text; save the file as UTF-8"),
    (b"a: 1\nb: \x00\x01\xff\n", "f.yaml:2: a NUL byte: this is a binary file, not YAML text"),
])
def test_bytes_that_are_not_utf8_text_are_refused(tmp_path, raw, expected):
    (tmp_path / "f.yaml").write_bytes(raw)
    with pytest.raises(SpecError) as info:
        load_yaml(tmp_path / "f.yaml", "f.yaml")
    assert [str(p) for p in info.value.problems] == [expected]


def test_a_utf8_byte_order_mark_is_read_as_text(tmp_path):
    (tmp_path / "f.yaml").write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert load_yaml(tmp_path / "f.yaml")[0] == {"a": 1}


def test_what_is_not_a_file_is_refused_by_name(tmp_path):
    def refusal(path: Path) -> str:
        with pytest.raises(SpecError) as info:
            load_yaml(path, "x.yaml")
        (problem,) = info.value.problems
        return str(problem)

    assert refusal(tmp_path / "missing.yaml") == "x.yaml:1: file not found"
    (tmp_path / "dir.yaml").mkdir()
    assert refusal(tmp_path / "dir.yaml") == "x.yaml:1: a folder, not a file"
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "nowhere.yaml")
    assert refusal(tmp_path / "dangling.yaml") == f"x.yaml:1: a symbolic link to '{tmp_path / 'nowhere.yaml'}', which does not exist"
    (tmp_path / "loop.yaml").symlink_to("loop.yaml")
    assert refusal(tmp_path / "loop.yaml") == "x.yaml:1: a symbolic link loop (the link leads back to itself)"
    os.mkfifo(tmp_path / "fifo.yaml")  # opening it would block forever
    assert refusal(tmp_path / "fifo.yaml") == "x.yaml:1: not a regular file (a pipe, socket or device); sitekit reads only files"
    (tmp_path / "file").write_text("x")
    assert refusal(tmp_path / "file" / "a.yaml") == f"x.yaml:1: cannot read the file: '{tmp_path / 'file'}' is a file, not a folder"
    (tmp_path / "big.yaml").write_bytes(b"#" * (sources.MAX_BYTES + 1))
    assert refusal(tmp_path / "big.yaml") == "x.yaml:1: the file is 1,048,577 bytes; sitekit reads files of at most 1,048,576 bytes"


def test_a_file_the_user_may_not_read_is_refused(tmp_path):
    """As root, reading is denied only without CAP_DAC_OVERRIDE: the check runs under setpriv, which drops it."""
    path = tmp_path / "secret.yaml"
    path.write_text("a: 1\n")
    path.chmod(0)
    code = ("from pathlib import Path; from sitekit.spec.sources import load_yaml; from sitekit.errors import SpecError\n"
            f"try:\n    load_yaml(Path({str(path)!r}), 'secret.yaml')\nexcept SpecError as e:\n    print(e)\n")
    command = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: root reads any file")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                   "--inh-caps=-dac_override,-dac_read_search"] + command
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "secret.yaml:1: permission denied: sitekit may not read this file", result.stderr


# ----------------------------------------------------------------------------------------------- the engine's config
def test_integer_config_from_the_engine_is_text_and_refused_cleanly_when_not_an_integer(root):
    """`pulumi.Config.get_int` raises on 'true'; the program reads text and converts as the offline loader."""
    from sitekit.region.program import read_config
    from sitekit.run.offline import stack_config

    config, secrets = stack_config(root, "us-ashburn")
    try:
        for text, want in (("2", 2), ("true", "true"), ("abc", "abc"), ("1.0", "1.0")):
            pulumi.runtime.set_all_config({**config, "sitekit:availabilityDomain": text}, secrets)
            values, _ = read_config()
            assert values["availabilityDomain"] == want
            if want == 2:
                assert load_site(root, "us-ashburn", values=values).spec.site.availability_domain == 2
                continue
            with pytest.raises(SpecError) as info:
                load_site(root, "us-ashburn", values=values)
            assert [p.message for p in info.value.problems] == [f"expected an integer, got text '{text}'"]
        pulumi.runtime.set_all_config({**config, "sitekit:images": "gpu"}, secrets)  # text, not JSON
        values, _ = read_config()
        with pytest.raises(SpecError) as info:
            load_site(root, "us-ashburn", values=values)
        assert [p.message for p in info.value.problems] == ["expected a mapping, got text 'gpu'"]
    finally:
        pulumi.runtime.set_all_config({}, [])
