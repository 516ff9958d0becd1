"""Shared fixtures. Each shipped site is planned once per test run and shared by every test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sitekit import ROOT
from sitekit.run.offline import plan_site
from sitekit.spec.layout import list_sites
from sitekit.spec.loader import load_site

SHIPPED = list_sites(ROOT)


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Tests never read or write the user's plan cache (~/.cache/sitekit): one cache per test run."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SITEKIT_CACHE_DIR", str(tmp_path_factory.mktemp("sitekit-cache")))
    yield
    mp.undo()


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/<site>.yaml from the current plans (review the diff before committing)")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shipped_plans():
    """{site: Plan} for every shipped stack, planned once (the real program under mocks)."""
    return {site: plan_site(ROOT, site) for site in SHIPPED}


@pytest.fixture(scope="session")
def shipped_sites():
    """{site: LoadedSite} for every shipped stack."""
    return {site: load_site(ROOT, site) for site in SHIPPED}


def copy_project(dest: Path) -> Path:
    """Copy the project's inputs (Pulumi.yaml, __main__.py, stacks/, templates/, schema/) into `dest`."""
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, dest / name)
    for folder in ("stacks", "templates", "schema"):
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, dest / folder)
    return dest


@pytest.fixture(scope="session")
def make_project():
    """`copy_project` as a fixture, for copies that outlive one test (module- or session-scoped)."""
    return copy_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A throwaway copy of the project (Pulumi.yaml, __main__.py, stacks/, templates/) to edit in a test."""
    return copy_project(tmp_path)
