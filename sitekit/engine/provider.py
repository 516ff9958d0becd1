"""A stand-in `pulumi-resource-oci` for the Pulumi engine, for tests and review only: it talks the provider
protocol and answers as the OCI provider would, without any cloud.

- Check: inputs echoed; an unknown property name (at any depth) and a missing required input are refused,
  read from the pulumi_oci classes (`schema`).
- Diff: replace-on-change from the provider's ForceNew facts (`sitekit.oci.replacement`), everything else an
  update; the engine does the rest (ignore_changes, aliases, protect, deleteBeforeReplace, dependents).
- Create / Read / Update / Delete: deterministic fake ids and the computed outputs the program reads
  (`sitekit.oci.fakes`); nothing is stored here, the engine's state is the only state, except what a test says
  was changed behind Pulumi's back (`sitekit.engine.cloud`: Read answers with it, Create and Update undo it).
- Invoke: the canned data-source answers of `sitekit.oci.fakes`.
- Faults, for tests: a named resource's create or update fails with a given message, the provider process
  exits in the middle of it, or it hangs (so a test can kill the CLI mid-update). They are read from the file
  the launcher names in SITEKIT_STANDIN_FAULTS, which `Workspace.install_provider` writes inside the throwaway
  PULUMI_HOME; nothing a real deployment sees (the real provider has no such thing).

It reports the version of the pulumi_oci package installed beside it, so the engine takes it for that
plugin. `sitekit.engine.workspace` installs it only into a throwaway PULUMI_HOME; it must never be found by a
real deployment. Run as `python -m sitekit.engine.provider <engine address>`; it prints its port.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent import futures
from importlib import metadata
from threading import Event
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from sitekit.engine import cloud, schema
from sitekit.oci import fakes
from sitekit.oci.replacement import diff_inputs, replaces
from sitekit.oci.types import OCI_PROVIDER

SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
ENGINE_CONFIG_KEYS = frozenset({"version", "pluginDownloadURL"})  # the SDK adds these to a provider's inputs
REPLACING_CONFIG = frozenset({"region"})  # assumption: resources do not move regions in place

_KIND = {("add", False): provider_pb2.PropertyDiff.ADD, ("add", True): provider_pb2.PropertyDiff.ADD_REPLACE,
         ("delete", False): provider_pb2.PropertyDiff.DELETE,
         ("delete", True): provider_pb2.PropertyDiff.DELETE_REPLACE,
         ("update", False): provider_pb2.PropertyDiff.UPDATE,
         ("update", True): provider_pb2.PropertyDiff.UPDATE_REPLACE}


def oci_version() -> str:
    try:
        return metadata.version("pulumi_oci")
    except metadata.PackageNotFoundError:  # pragma: no cover - the project always installs it
        return "5.5.0"


def to_dict(struct: struct_pb2.Struct | None) -> dict[str, Any]:
    return json_format.MessageToDict(struct) if struct is not None else {}


def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def reveal(value: Any) -> Any:
    """Secrets unwrapped (a change under a secret is still a change), numbers normalised."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_VALUE:
            return reveal(value.get("value"))
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _type(urn: str) -> str:
    return urn.split("::")[2].rsplit("$", 1)[-1]


def fault(op: str, urn: str) -> dict | None:
    """The fault injected for this operation on this resource, if any (tests only: see the module's docstring).
    An entry is {"name": logical name, "op": "create" | "update", "stack": optional, and one of "fail": message,
    "exit": code, "hang": seconds}."""
    path = os.environ.get("SITEKIT_STANDIN_FAULTS")
    if not path or not os.path.exists(path):
        return None
    stack = urn.split("::")[0].rsplit(":", 1)[-1]
    for entry in json.loads(open(path).read()):
        if entry.get("op") == op and entry.get("name") == _name(urn) and entry.get("stack", stack) == stack:
            return entry
    return None


def _inject(op: str, urn: str, context) -> None:
    entry = fault(op, urn)
    if entry is None:
        return
    marker = os.environ["SITEKIT_STANDIN_FAULTS"] + ".hit"
    with open(marker, "a") as fh:  # tells the test the operation has started
        fh.write(f"{op} {urn}\n")
    if "hang" in entry:
        time.sleep(float(entry["hang"]))
    if "exit" in entry:
        os._exit(int(entry["exit"]))
    if "fail" in entry:
        context.abort(grpc.StatusCode.UNKNOWN, entry["fail"])


class StandInProvider(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self) -> None:
        self.region = "us-ashburn-1"
        self.version = oci_version()

    # -------------------------------------------------------------------------------- plugin and config
    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=self.version)

    def Handshake(self, request, context):
        return provider_pb2.ProviderHandshakeResponse(accept_secrets=True, accept_resources=False)

    def CheckConfig(self, request, context):
        news = {k: v for k, v in reveal(to_dict(request.news)).items() if k not in ENGINE_CONFIG_KEYS}
        failures = [provider_pb2.CheckFailure(property=p, reason=r)
                    for p, r in schema.check(OCI_PROVIDER, news)]
        return provider_pb2.CheckResponse(inputs=request.news, failures=failures)

    def DiffConfig(self, request, context):
        """A provider's region or credentials changing moves every resource it manages: replace (as the real
        provider's region does); other settings (retries, tag filters) update."""
        olds = reveal(to_dict(request.old_inputs if request.HasField("old_inputs") else request.olds))
        news = reveal(to_dict(request.news))
        changed = sorted(k for k in set(olds) | set(news)
                         if olds.get(k) != news.get(k) and not k.startswith("__") and k not in ENGINE_CONFIG_KEYS)
        forced = [k for k in changed if k in REPLACING_CONFIG]
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE,
            diffs=changed, replaces=forced)

    def Configure(self, request, context):
        args = reveal(to_dict(request.args)) if request.HasField("args") else {}
        region = args.get("region") or request.variables.get("oci:config:region") or request.variables.get("oci:region")
        if isinstance(region, str) and region:
            self.region = region
        return provider_pb2.ConfigureResponse(acceptSecrets=True, supportsPreview=True, acceptResources=False)

    # -------------------------------------------------------------------------------- resources
    def Check(self, request, context):
        type_ = request.type or _type(request.urn)
        if type_.startswith("pulumi:providers:"):
            return self.CheckConfig(request, context)
        news = reveal(to_dict(request.news))
        present = lambda v: v is not None  # noqa: E731 - an unknown value counts as present
        failures = [provider_pb2.CheckFailure(property=p, reason=r) for p, r in schema.check(type_, news, present)]
        return provider_pb2.CheckResponse(inputs=request.news, failures=failures)

    def Diff(self, request, context):
        type_ = request.type or _type(request.urn)
        olds = reveal(to_dict(request.old_inputs if request.HasField("old_inputs") else request.olds))
        news = reveal(to_dict(request.news))
        changes = diff_inputs(type_, olds, news, ignore=list(request.ignoreChanges))
        if not changes:
            return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE, hasDetailedDiff=True)
        detailed = {c.path: provider_pb2.PropertyDiff(kind=_KIND[(c.kind, c.replace)], inputDiff=True)
                    for c in changes}
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_SOME, replaces=replaces(changes),
                                         diffs=sorted({c.top for c in changes}), detailedDiff=detailed,
                                         hasDetailedDiff=True)

    def _outputs(self, type_: str, urn: str, inputs: struct_pb2.Struct, known: bool = True) -> struct_pb2.Struct:
        """Inputs plus the computed outputs; in a preview of a create those are not known yet."""
        out = to_struct(to_dict(inputs))
        computed = fakes.computed_outputs(type_, _name(urn))
        out.update(computed if known else {k: UNKNOWN for k in computed})
        return out

    def Create(self, request, context):
        type_ = request.type or _type(request.urn)
        if request.preview:  # the id and computed outputs of a resource not yet created are unknown
            return provider_pb2.CreateResponse(
                id="", properties=self._outputs(type_, request.urn, request.properties, known=False))
        _inject("create", request.urn, context)
        cloud.applied(_name(request.urn))
        return provider_pb2.CreateResponse(id=fakes.fake_id(type_, request.urn),
                                           properties=self._outputs(type_, request.urn, request.properties))

    def Read(self, request, context):
        held = cloud.read(_name(request.urn), to_dict(request.properties), to_dict(request.inputs))
        if held is None:  # deleted outside Pulumi: no id
            return provider_pb2.ReadResponse(id="")
        return provider_pb2.ReadResponse(id=request.id, properties=to_struct(held[0]), inputs=to_struct(held[1]))

    def Update(self, request, context):
        type_ = request.type or _type(request.urn)
        if not request.preview:
            _inject("update", request.urn, context)
            cloud.applied(_name(request.urn))
        return provider_pb2.UpdateResponse(properties=self._outputs(type_, request.urn, request.news))

    def Delete(self, request, context):
        return empty_pb2.Empty()

    def Invoke(self, request, context):
        answer = fakes.invoke(request.tok, reveal(to_dict(request.args)), self.region)
        if answer is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED,
                          f"the stand-in OCI provider has no canned answer for {request.tok}")
        return provider_pb2.InvokeResponse(**{"return": to_struct(answer)})

    def Cancel(self, request, context):
        return empty_pb2.Empty()

    def GetSchema(self, request, context):
        return provider_pb2.GetSchemaResponse(schema=json.dumps({"name": "oci", "version": self.version}))


def main() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)])
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(StandInProvider(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    try:
        Event().wait()
    except KeyboardInterrupt:
        server.stop(0)


if __name__ == "__main__":
    main()
