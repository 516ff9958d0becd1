"""Run the real Pulumi program of a site under the Pulumi SDK's mocks, with the stack's own config.

No engine, no cloud credentials: `__main__.py` is executed with `runpy`, exactly the file `pulumi up` runs,
against a recording mock monitor that keeps every registration (parent, provider, protect, inputs...).
Secure config values are never decrypted: they enter as placeholders marked secret, and every secret input
is masked in the plan.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings

from .loader import load_site, read_stack_values
from .plan import SECRET, UNKNOWN, Plan, PlannedResource
from .sources import load_yaml
from .stackconfig import BY_NAME, NAMESPACE

# What the program sees for a secure config value offline. It differs from the mask "[secret]" on purpose:
# if a secret ever lost its secret flag on the way to a resource, this text would show in the plan.
SECRET_PLACEHOLDER = "offline-placeholder-of-a-secure-value"

_SECRET_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_VAL = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_SIG = "4dabf18193072939515e22adb298388d"

# Outputs the provider would compute that the program reads back.
_COMPUTED = {
    "oci:Kms/vault:Vault": lambda n: {"managementEndpoint": f"https://{n}-management.kms.example",
                                     "cryptoEndpoint": f"https://{n}-crypto.kms.example"},
    "oci:Core/vcn:Vcn": lambda n: {"defaultSecurityListId": f"ocid1.securitylist.oc1..{n}-default",
                                   "defaultRouteTableId": f"ocid1.routetable.oc1..{n}-default"},
    "oci:FileStorage/mountTarget:MountTarget": lambda n: {"exportSetId": f"ocid1.exportset.oc1..{n}"},
}


class SiteMocks(pulumi.runtime.Mocks):
    """Deterministic stand-ins for what OCI would return: ids from names, a few computed outputs."""

    def __init__(self, region: str):
        self.region = region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        outputs.update(_COMPUTED.get(args.typ, lambda n: {})(args.name))
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "oci:Core/getServices:getServices":
            key = self.region.split("-")[1][:3].upper()
            return {"services": [{"id": f"ocid1.service.oc1..all-{key.lower()}-services",
                                  "name": f"All {key} Services In Oracle Services Network",
                                  "cidrBlock": f"all-{key.lower()}-services-in-oracle-services-network",
                                  "description": ""}]}
        if args.token == "oci:Identity/getAvailabilityDomains:getAvailabilityDomains":
            return {"availabilityDomains": [{"name": f"Uocm:{self.region.upper()}-AD-{i}", "id": f"ad-{i}",
                                             "compartmentId": args.args.get("compartmentId")} for i in (1, 2, 3)],
                    "compartmentId": args.args.get("compartmentId"), "id": "ads"}
        if args.token == "oci:ObjectStorage/getNamespace:getNamespace":
            return {"namespace": "sitekitmockns", "id": "namespace"}
        return {}


def _plain(value: Any, path: str, secrets: list[str]) -> Any:
    """Engine-form JSON -> plain data: secrets masked (and their paths noted), unknowns marked."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET_VAL:
            secrets.append(path)
            return SECRET
        if sig == _RESOURCE_SIG:
            return value.get("urn")
        return {k: _plain(v, f"{path}.{k}" if path else k, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    if value == _UNKNOWN:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double
    return value


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that keeps the whole registration request, not only type, name and inputs."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registered: list[PlannedResource] = []
        self.invokes: list[tuple[str, str | None]] = []
        self.stack_urn = ""

    def Invoke(self, request):
        self.invokes.append((request.tok, request.provider or None))  # which provider (region) answers
        return super().Invoke(request)

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = response.urn
            return response
        secrets: list[str] = []
        inputs = _plain(json_format.MessageToDict(request.object), "", secrets)
        self.registered.append(PlannedResource(
            urn=response.urn, type=request.type, name=request.name, custom=request.custom,
            parent=request.parent or None, provider=request.provider or None, inputs=inputs,
            protect=bool(request.protect), retain_on_delete=bool(request.retainOnDelete),
            dependencies=sorted(request.dependencies), ignore_changes=list(request.ignoreChanges),
            aliases=[a.urn for a in request.aliases if a.urn], secret_inputs=secrets))
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


def plan_site(root: Path, stack: str) -> Plan:
    """Validate the site, then run its program under mocks; return every registration as a Plan."""
    root = root.resolve()
    site = load_site(root, stack)  # bad input stops here, with every problem listed
    config, secret_keys = stack_config(root, stack)
    monitor = RecordingMonitor(SiteMocks(site.spec.site.region))
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_all_config(config, secret_keys)
    pulumi.runtime.set_mocks(monitor.mocks, project="sitekit", stack=stack, preview=False, monitor=monitor)
    program = str(root / "__main__.py")

    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def run():
        runpy.run_path(program, run_name="__main__")
        exported = pulumi_settings.get_root_resource().outputs
        names = list(exported)
        return pulumi.Output.all(*[pulumi.Output.from_input(exported[n]) for n in names]).apply(
            lambda vals: outputs.update(zip(names, vals)))

    run()
    return Plan(site=stack, resources=list(monitor.registered), outputs=outputs, invokes=list(monitor.invokes))
