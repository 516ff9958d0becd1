"""What `sitekit new-site` is asked: the request, its pools, the names and OCIDs it accepts (answers -> request)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sitekit.errors import Problem, clip
from sitekit.spec.models import Jurisdiction

CMD = "sitekit new-site"


SITE_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


MAX_NAME = 24
"""Site names: lower-case words joined by single hyphens, at most 24 characters (they prefix display names,
tag namespaces and DNS labels)."""


OCID = re.compile(r"^ocid1\.[a-z0-9]+\.[a-z0-9-]*\.[a-z0-9-]*\.[A-Za-z0-9._-]+$")


PLACEHOLDER_OCIDS = {
    "tenancyId": "ocid1.tenancy.oc1..placeholder-replace-with-your-tenancy-ocid",
    "parentCompartmentId": "ocid1.compartment.oc1..placeholder-replace-with-the-parent-compartment-ocid",
    "gpu": "ocid1.image.oc1..placeholder-replace-with-a-gpu-image-ocid",
    "oke": "ocid1.image.oc1..placeholder-replace-with-an-oke-node-image-ocid",
    "configurationDetectorRecipeId":
        "ocid1.cloudguarddetectorrecipe.oc1..placeholder-replace-with-the-configuration-detector-recipe-ocid",
    "activityDetectorRecipeId":
        "ocid1.cloudguarddetectorrecipe.oc1..placeholder-replace-with-the-activity-detector-recipe-ocid",
    "responderRecipeId": "ocid1.cloudguardresponderrecipe.oc1..placeholder-replace-with-the-responder-recipe-ocid",
}


PLACEHOLDER_OPERATOR_CIDR = "192.0.2.0/24"
"""Until a site names its operators' ranges: RFC 5737's TEST-NET-1, a documentation block no client connects
from, so the bastion admits nobody rather than everybody."""


WIDEST_OPERATOR_PREFIX = 16
"""An operator range is no wider than a /16 (policy rule SK-NET-015's default)."""


@dataclass(frozen=True)
class PoolRequest:
    """One item of --pools: NAME[=SHAPE][:PERCENT]."""

    name: str
    shape: str | None = None
    share: float | None = None


def parse_pools(text: str | None) -> tuple[list[PoolRequest], list[Problem]]:
    if not text:
        return [], []
    out, problems = [], []
    for item in (i.strip() for i in text.split(",")):
        m = re.fullmatch(r"([a-z][a-z0-9-]{0,30})(?:=([A-Za-z0-9.\-]+))?(?::([0-9]+(?:\.[0-9]+)?))?", item)
        if not m:
            problems.append(Problem(CMD, None, "--pools", f"'{clip(item)}' is not NAME[=SHAPE][:PERCENT] "
                                                          "(e.g. train=BM.GPU.H200.8:85,serve:15)"))
            continue
        share = float(m.group(3)) if m.group(3) else None
        if share is not None and not 0 < share <= 100:
            problems.append(Problem(CMD, None, "--pools", f"share of '{m.group(1)}' must be in (0, 100]"))
        if any(p.name == m.group(1) for p in out):
            problems.append(Problem(CMD, None, "--pools", f"pool '{m.group(1)}' is given twice"))
        out.append(PoolRequest(m.group(1), m.group(2), share))
    return out, problems


@dataclass(frozen=True)
class Request:
    """What `sitekit new-site` was asked for (the command-line answers)."""

    name: str
    jurisdiction: str
    region: str
    region_kind: str = "public"
    home_region: str | None = None
    power_mw: float = 20.0
    pue: float = 1.2
    commissioned: date | None = None
    energy_reuse: float | None = None
    pools: tuple[PoolRequest, ...] = ()
    transfer_mechanism: str | None = None
    transfer_reference: str | None = None
    tenancy_id: str | None = None
    parent_compartment_id: str | None = None
    gpu_image_id: str | None = None
    oke_image_id: str | None = None
    availability_domain: int = 1
    operator_cidrs: tuple[str, ...] = ()


def problem(key: str, message: str) -> Problem:
    return Problem(CMD, None, key, message)


def pending_bases(j: Jurisdiction) -> list[str]:
    """Dotted keys of the profile's rules whose basis is still a TODO (a skeleton not yet reviewed)."""
    found: list[str] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            if "TODO" in str(node.get("basis", "")):
                found.append(".".join(path))
            for k, v in node.items():
                walk(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + (str(i),))

    walk(j.model_dump(by_alias=True), ("jurisdiction",))
    return found


FIX_FIRST = "fix it before stamping another site"
