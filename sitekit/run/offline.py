"""Run the real Pulumi program of a site under the Pulumi SDK's mocks, with the stack's own config.

No engine, no cloud credentials: `__main__.py` is executed with `runpy`, exactly the file `pulumi up` runs,
against a recording mock monitor that keeps every registration (parent, provider, protect, inputs...).
Secure config values are never decrypted: they enter as placeholders marked secret, and every secret input
is masked in the plan.
"""

from __future__ import annotations

import contextlib
import json
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import settings as pulumi_settings

from sitekit.oci import fakes
from sitekit.plan import SECRET, UNKNOWN, Plan, PlannedResource
from sitekit.spec.loaded import LoadedSite
from sitekit.spec.loader import load_site
from sitekit.spec.sources import load_yaml
from sitekit.spec.stackconfig import BY_NAME, NAMESPACE
from sitekit.spec.stackfiles import read_stack_values

# What the program sees for a secure config value offline. It differs from the mask "[secret]" on purpose:
# if a secret ever lost its secret flag on the way to a resource, this text would show in the plan.
SECRET_PLACEHOLDER = "offline-placeholder-of-a-secure-value"

_SECRET_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_VAL = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_SIG = "4dabf18193072939515e22adb298388d"

class SiteMocks(pulumi.runtime.Mocks):
    """Deterministic stand-ins for what OCI would return (`fakes`): ids from names, a few computed outputs, and
    a peer's stack outputs as the peer's own plan would export them."""

    def __init__(self, region: str, site: str = ""):
        self.region, self.site = region, site

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == "pulumi:pulumi:StackReference":
            name = str(args.inputs.get("name", args.name))
            return name, {"name": name, "outputs": fakes.peer_outputs(name.rsplit("/", 1)[-1], self.site),
                          "secretOutputNames": []}
        outputs = dict(args.inputs)
        outputs.update(fakes.computed_outputs(args.typ, args.name))
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return fakes.invoke(args.token, dict(args.args), self.region) or {}


def _plain(value: Any, path: str, secrets: list[str], urn_of: Callable[[str], str]) -> Any:
    """Engine-form JSON -> plain data: secrets masked (and their paths noted), unknowns marked, resource
    references as the referenced resource's engine URN."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET_VAL:
            secrets.append(path)
            return SECRET
        if sig == _RESOURCE_SIG:
            return urn_of(value.get("urn", ""))
        return {k: _plain(v, f"{path}.{k}" if path else k, secrets, urn_of) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, f"{path}[{i}]", secrets, urn_of) for i, v in enumerate(value)]
    if value == _UNKNOWN:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double
    return value


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that keeps the whole registration request, not only type, name and inputs.

    URNs are recorded as the engine writes them, not as the mocks do: the qualified type is the chain of
    parent types below the stack (`parent$child`), so a plan's URNs equal `pulumi preview`'s."""

    def __init__(self, mocks: pulumi.runtime.Mocks, project: str = "sitekit", stack: str = "stack"):
        super().__init__(mocks)
        self.project, self.stack = project, stack
        self.registered: list[PlannedResource] = []
        self.invokes: list[tuple[str, str | None]] = []
        self.stack_urn = ""
        self._engine_urn: dict[str, str] = {}  # mock URN -> engine URN
        self._qualified: dict[str, str] = {}  # mock URN -> qualified type ('' for the stack)

    def urn_of(self, mock_urn: str) -> str:
        """The engine URN of a registered resource, given the URN the mocks gave it."""
        return self._engine_urn.get(mock_urn, mock_urn)

    def ref_of(self, reference: str) -> str:
        """A provider reference '<urn>::<id>' with the engine URN."""
        urn, sep, id_ = reference.rpartition("::")
        return f"{self.urn_of(urn)}{sep}{id_}" if sep else reference

    def _qualify(self, parent_mock: str, type_: str) -> str:
        above = self._qualified.get(parent_mock, "") if parent_mock else ""
        return f"{above}${type_}" if above else type_

    def engine_urn(self, qualified: str, name: str) -> str:
        return f"urn:pulumi:{self.stack}::{self.project}::{qualified}::{name}"

    def Invoke(self, request):
        provider = self.ref_of(request.provider) if request.provider else None
        self.invokes.append((request.tok, provider))  # which provider (region) answers
        return super().Invoke(request)

    def _alias_urn(self, alias, request) -> str | None:
        if alias.urn:
            return self.urn_of(alias.urn)
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        qualified = self._qualify(parent, spec.type or request.type)
        return f"urn:pulumi:{spec.stack or self.stack}::{spec.project or self.project}::{qualified}::" \
               f"{spec.name or request.name}"

    def ReadResource(self, request):
        """A resource read, not managed (a StackReference): recorded too, as the engine lists it."""
        response = super().ReadResource(request)
        qualified = self._qualify(request.parent, request.type)
        urn = self.engine_urn(qualified, request.name)
        self._engine_urn[response.urn], self._qualified[response.urn] = urn, qualified
        secrets: list[str] = []
        inputs = _plain(json_format.MessageToDict(request.properties), "", secrets, self.urn_of)
        self.registered.append(PlannedResource(
            urn=urn, type=request.type, name=request.name, custom=True,
            parent=self.urn_of(request.parent) if request.parent else None,
            provider=self.ref_of(request.provider) if request.provider else None, inputs=inputs,
            dependencies=sorted(self.urn_of(d) for d in request.dependencies), secret_inputs=secrets))
        return response

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = self.engine_urn(request.type, request.name)
            self._engine_urn[response.urn] = self.stack_urn
            self._qualified[response.urn] = ""
            return response
        qualified = self._qualify(request.parent, request.type)
        urn = self.engine_urn(qualified, request.name)
        self._engine_urn[response.urn], self._qualified[response.urn] = urn, qualified
        secrets: list[str] = []
        inputs = _plain(json_format.MessageToDict(request.object), "", secrets, self.urn_of)
        parent = self.urn_of(request.parent) if request.parent else None
        self.registered.append(PlannedResource(
            urn=urn, type=request.type, name=request.name, custom=request.custom,
            parent=parent,
            provider=self.ref_of(request.provider) if request.provider else None, inputs=inputs,
            protect=bool(request.protect), retain_on_delete=bool(request.retainOnDelete),
            dependencies=sorted(self.urn_of(d) for d in request.dependencies),
            ignore_changes=list(request.ignoreChanges),
            aliases=[a for a in (self._alias_urn(a, request) for a in request.aliases) if a],
            secret_inputs=secrets))
        return response


def stack_config(root: Path, stack: str) -> tuple[dict[str, str], list[str]]:
    """The config map Pulumi would give the program: project defaults, then the stack file's values.

    Objects and lists are JSON-encoded (so `get_object` works); secure values become placeholders and
    are named in the secret keys, so the program sees secret Outputs as it would under the engine.
    """
    project, _ = load_yaml(root / "Pulumi.yaml", "Pulumi.yaml")
    config: dict[str, str] = {}
    for key, decl in (project.get("config") or {}).items():
        if isinstance(decl, dict) and "default" in decl:
            full = key if ":" in key else f"{NAMESPACE}:{key}"
            config[full] = decl["default"] if isinstance(decl["default"], str) else json.dumps(decl["default"])
    values, _, _ = read_stack_values(root, stack)
    secret_keys = []
    for key, value in values.items():
        full = f"{NAMESPACE}:{key}"
        if BY_NAME[key].kind == "secret":
            secret_keys.append(full)
            config[full] = SECRET_PLACEHOLDER
        elif isinstance(value, str):
            config[full] = value
        else:
            config[full] = json.dumps(value, default=str)  # YAML dates (waiver expiries) as ISO text
    return config, secret_keys


@contextlib.contextmanager
def without_stack_traces() -> Iterator[None]:
    """Registrations with an empty stack trace, as the SDK sends when it finds no user frame. The engine reads a
    registration's trace only to point diagnostics at source lines; under mocks nothing reads it, and capturing it
    walks and formats the whole Python stack for every resource (about a fifth of planning a site offline). Only
    the offline planner uses this; under `pulumi preview` the program runs with the SDK as it is."""
    capture = getattr(pulumi_resource, "_get_stack_trace", None)
    empty = getattr(getattr(pulumi_resource, "source_pb2", None), "StackTrace", None)
    if capture is None or empty is None:  # another SDK: plan with its traces
        yield
        return
    pulumi_resource._get_stack_trace = empty
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = capture


def plan_site(root: Path, stack: str, site: "LoadedSite | None" = None) -> Plan:
    """Validate the site (or take `site`, loaded from this root already), then run its program under mocks,
    handing the loaded site to it; return every registration as a Plan."""
    from sitekit.region.program import HANDOFF  # heavy: deferred

    root = root.resolve()
    site = site if site is not None else load_site(root, stack)  # bad input stops here, every problem listed
    config, secret_keys = stack_config(root, stack)
    monitor = RecordingMonitor(SiteMocks(site.spec.site.region, stack), project="sitekit", stack=stack)
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_all_config(config, secret_keys)
    pulumi.runtime.set_mocks(monitor.mocks, project="sitekit", stack=stack, preview=False, monitor=monitor)
    program = str(root / "__main__.py")

    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def run():
        token = HANDOFF.set(site)
        try:
            runpy.run_path(program, run_name="__main__")
        finally:
            HANDOFF.reset(token)
        exported = pulumi_settings.get_root_resource().outputs
        names = list(exported)
        return pulumi.Output.all(*[pulumi.Output.from_input(exported[n]) for n in names]).apply(
            lambda vals: outputs.update(zip(names, vals)))

    with without_stack_traces():
        run()
    # registrations and calls arrive in the order the event loop resolves them, which varies between runs (and
    # processes): a plan lists them by URN and call, so the same site always prints the same plan
    return Plan(site=stack, resources=sorted(monitor.registered, key=lambda r: r.urn), outputs=outputs,
                invokes=sorted(monitor.invokes, key=lambda i: (i[0], i[1] or "")))
