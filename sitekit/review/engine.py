"""Engine mode: the base deployed with `pulumi up` into a throwaway file backend through the stand-in OCI
provider, then the head previewed against that state with `pulumi preview --json --diff`. Counts, replace
reasons, dependents, ignore_changes, aliases and protect refusals are the engine's. No credentials are used.

Each side runs its own code: the base's program with the base tree first on PYTHONPATH, the head's with the
working tree. Stack files are copied, never edited in place: a copy drops any secrets provider of its own and
holds each `secure:` value as a placeholder set with `pulumi config set --secret` (the same placeholder on both
sides when the ciphertext is unchanged, another when it changed), so no secret of the user's is ever decrypted.
A deployed base is cached (its file-backend state and salt), keyed by the base snapshot's content hash, the CLI
version and the stand-in provider's code.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sitekit.engine import provider as provider_module
from sitekit.engine.workspace import EngineError, Workspace
from sitekit.review.model import Change
from sitekit.review.preview import changes_from_preview
from sitekit.spec.layout import list_sites

CACHE_FORMAT = 1
PROVIDER_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt")


@dataclass
class EngineResult:
    changes: list[Change]
    errors: list[str]
    notes: list[str]


def _stack_copy(project: Path, site: str) -> dict[str, str]:
    """Rewrite the project copy's stack file for the throwaway backend; return {secure key: placeholder}."""
    path = project / f"stacks/Pulumi.{site}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for key in PROVIDER_KEYS:
        data.pop(key, None)
    secrets = {}
    config = data.get("config") or {}
    for key, value in list(config.items()):
        if isinstance(value, dict) and set(value) == {"secure"}:
            digest = hashlib.sha256(str(value["secure"]).encode()).hexdigest()[:12]
            secrets[key] = f"sitekit-review-placeholder-{digest}"
            del config[key]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return secrets


def _peers(project: Path, site: str) -> list[str]:
    """The sites a site's stack file names as peers that have a stack file in the project."""
    data = yaml.safe_load((project / f"stacks/Pulumi.{site}.yaml").read_text(encoding="utf-8")) or {}
    peers = (data.get("config") or {}).get("sitekit:peers") or []
    listed = set(list_sites(project))  # names from the listing, never a file name built from what the file says
    return [p["site"] for p in peers if isinstance(p, dict) and p.get("site") in listed]


def _salt(project: Path, site: str) -> str | None:
    data = yaml.safe_load((project / f"stacks/Pulumi.{site}.yaml").read_text(encoding="utf-8")) or {}
    return data.get("encryptionsalt")


def _set_salt(project: Path, site: str, salt: str) -> None:
    path = project / f"stacks/Pulumi.{site}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data["encryptionsalt"] = salt
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _set_secrets(ws: Workspace, site: str, secrets: dict[str, str]) -> None:
    for key, value in sorted(secrets.items()):
        ws.run(["config", "set", "--secret", key, value, "-s", site], check=True)


def engine_key(snapshot_key: str, cli_version: str) -> str:
    digest = hashlib.sha256(f"{CACHE_FORMAT};{snapshot_key};{cli_version}".encode())
    for module in (provider_module,):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def _state_digest(key: str, salt: str, state: Path) -> str:
    """What a deployed base was: its key, the stack's salt and every file of the state folder (path and bytes)."""
    digest = hashlib.sha256(json.dumps({"format": CACHE_FORMAT, "key": key, "salt": salt}).encode())
    for path in sorted(p for p in state.rglob("*") if p.is_file()):
        digest.update(path.relative_to(state).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class DeployedCache:
    """Deployed bases: the file backend's state folder and the stack's salt, in one tar per key, with a digest of
    what it holds; an entry that is not this user's, does not open, is filed under another key or does not match
    its digest is deployed again, and said (as every cache entry: `run.cache`)."""

    def __init__(self, folder: Path | None):
        self.folder = folder / "engine" if folder is not None else None

    def restore(self, key: str, state: Path) -> str | None:
        entry = self.folder / f"{key}.tar" if self.folder is not None else None
        if entry is None or not entry.is_file():
            return None
        try:
            if entry.stat().st_uid != os.getuid():
                raise ValueError("not this user's file")
            with tarfile.open(entry) as tar:
                manifest = json.load(tar.extractfile("manifest.json"))
                if manifest.get("key") != key or manifest.get("format") != CACHE_FORMAT:
                    raise ValueError("filed under another key or format")
                members = [m for m in tar.getmembers() if m.name.startswith("state/")]
                tar.extractall(state.parent, members=members, filter="data")
            if _state_digest(key, manifest["salt"], state) != manifest.get("digest"):
                shutil.rmtree(state, ignore_errors=True)
                raise ValueError("its state does not match its digest")
            return manifest["salt"]
        except (OSError, tarfile.TarError, ValueError, KeyError, TypeError, AttributeError) as exc:
            sys.stderr.write(f"sitekit: cache: deployed base {entry.name}: {exc}; deployed again, not trusted\n")
            return None

    def store(self, key: str, state: Path, salt: str) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w") as tar:
            data = json.dumps({"key": key, "format": CACHE_FORMAT, "salt": salt,
                               "digest": _state_digest(key, salt, state)}).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            tar.add(state, arcname="state")
        os.replace(tmp, self.folder / f"{key}.tar")


def review_site(head_root: Path, base_tree: Path | None, site: str, folder: Path, pulumi: Path,
                cache: DeployedCache, base_key: str | None, cli_version: str) -> EngineResult:
    """The engine's changes for one site: base deployed (or restored), head previewed against it."""
    ws = Workspace(head_root, folder, pulumi=pulumi, python_path=base_tree)
    ws.install_provider()
    notes: list[str] = []
    salt = None
    if base_tree is not None:
        key = engine_key(base_key or "", cli_version)
        salt = cache.restore(key, ws.state)
        if salt is None:
            ws.copy_project(base_tree, "base")
            secrets = _stack_copy(ws.project, site)
            ws.run(["stack", "init", site, "--secrets-provider", "passphrase", "--non-interactive"], check=True)
            for peer in _peers(ws.project, site):  # a spoke reads its hub's outputs: the hub's stack must exist
                _stack_copy(ws.project, peer)
                ws.run(["stack", "init", peer, "--secrets-provider", "passphrase", "--non-interactive"])
            _set_secrets(ws, site, secrets)
            up = ws.up(site)
            if up.returncode != 0:
                raise EngineError(f"the base of {site} could not be deployed: {_last_error(up.output)}")
            salt = _salt(ws.project, site)
            cache.store(key, ws.state, salt)
        else:
            notes.append("base deployment reused from the cache")
    ws.python_path = head_root
    ws.copy_project(head_root, "head")
    secrets = _stack_copy(ws.project, site)
    if salt is not None:
        _set_salt(ws.project, site, salt)
        ws.run(["stack", "select", site, "--non-interactive"], check=True)
    else:
        ws.run(["stack", "init", site, "--secrets-provider", "passphrase", "--non-interactive"], check=True)
        for peer in _peers(ws.project, site):
            _stack_copy(ws.project, peer)
            ws.run(["stack", "init", peer, "--secrets-provider", "passphrase", "--non-interactive"])
    _set_secrets(ws, site, secrets)
    preview = ws.run(["preview", "-s", site, "--json", "--diff", "--non-interactive"])
    try:
        doc: dict[str, Any] = json.loads(preview.stdout)
    except ValueError:
        raise EngineError(f"pulumi preview of {site} gave no JSON: {_last_error(preview.output)}") from None
    changes, errors = changes_from_preview(doc)
    if preview.returncode != 0 and not errors:
        errors = [_last_error(preview.output)]
    return EngineResult(changes, errors, notes)


def _last_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["no output"])[-1][:500]
