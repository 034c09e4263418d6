"""Run the real Pulumi program under Pulumi's own mock runtime and record every registration.

The engine itself cannot run here (no Pulumi CLI); the SDK's mock monitor can.
It stands in for the engine only: every resource still goes through the real
component classes and the real pulumi-github SDK classes.
"""

from __future__ import annotations

import asyncio

from dataclasses import dataclass
from typing import Any, Callable

import pulumi

from ..compiler import github as gh
from ..compiler.resources import Resource
from ..redact import redact
from ..components.factory import build_stack

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def sdk_internals() -> tuple[type, Callable[[Any], dict[str, Any]]]:
    """The one place this module reaches past the names Pulumi's SDK exports.

    ``set_mocks(monitor=...)`` takes a MockMonitor, but pulumi.runtime does not export the class;
    and a registration's inputs arrive as a protobuf Struct that only the SDK's own deserializer
    reads as the engine does (secrets, unknowns, assets). tests/engine/test_mockrun.py checks
    both on every install, so a Pulumi upgrade that moves them fails there, by name."""
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor

    def inputs_of(struct: Any) -> dict[str, Any]:
        return rpc.deserialize_properties(struct, keep_unknowns=True)

    return MockMonitor, inputs_of


_MockMonitor, _inputs_of = sdk_internals()


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    dependencies: tuple[str, ...]
    provider: str | None
    protect: bool
    custom: bool
    retain_on_delete: bool = False


class RecordingMocks(pulumi.runtime.Mocks):
    """Mock provider: echoes inputs back as state, with a deterministic id and repoId."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = dict(args.inputs)
        if args.typ == "github:index/repository:Repository":
            state.setdefault("repoId", mock_repo_id(args.name))
        for output in MOCK_OUTPUTS:
            state.setdefault(output, mock_output(args.name, output))
        return mock_output(args.name, "id"), state

    def call(self, args: pulumi.runtime.MockCallArgs):
        return mock_lookup(args.token, dict(args.args))


def mock_lookup(token: str, args: dict[str, Any]) -> dict[str, Any]:
    """What the mocked data sources answer: a team's id from its slug, a repository's id from its name."""
    if token == gh.GET_TEAM:
        return {"id": f"{args['slug']}-team-id", "slug": args["slug"]}
    if token == gh.GET_REPOSITORY:
        return {"repoId": len(args["fullName"]), "fullName": args["fullName"]}
    return {}


# outputs other resources refer to; the mock gives each a value derived from the resource's name
MOCK_OUTPUTS = ("address", "arn", "dnsName", "endpoint", "repositoryUrl", "zoneId")


def mock_output(name: str, output: str) -> Any:
    if output == "repoId":
        return mock_repo_id(name)
    if output == "id":
        return f"{name}-id"
    return f"mock-{output}-{name}"


def mock_repo_id(name: str) -> int:
    return sum(ord(c) for c in name) * 1000 + len(name)


class RecordingMonitor(_MockMonitor):
    """Records each RegisterResource request and names resources as the engine does."""

    def __init__(self, mocks_: pulumi.runtime.Mocks):
        super().__init__(mocks_)
        self.registrations: list[Registration] = []
        self.outputs: dict[str, dict[str, Any]] = {}  # a component's register_outputs, by URN

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine prefixes the parent's whole qualified type chain, the root stack left out;
        # the stock mock keeps only the parent's last type.
        if parent:
            qualified = parent.split("::")[2]
            if qualified != ROOT_STACK_TYPE:
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != ROOT_STACK_TYPE:
            parent = request.parent or None
            if parent and parent.split("::")[2] == ROOT_STACK_TYPE:
                parent = None
            inputs = _inputs_of(request.object)
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=parent,
                    inputs=_plain(inputs),
                    dependencies=tuple(d for d in request.dependencies),
                    provider=request.provider.rsplit("::", 1)[0] if request.provider else None,
                    protect=bool(request.protect),
                    custom=bool(request.custom),
                    retain_on_delete=bool(request.retainOnDelete),
                )
            )
        return response

    def RegisterResourceOutputs(self, request):
        self.outputs[request.urn] = _plain(_inputs_of(request.outputs))
        return super().RegisterResourceOutputs(request)


def _plain(value: Any) -> Any:
    return redact(value, {"$secret": "***"})


def render_with_mocks(project_name: str, stack: str, resources: list[Resource], config: dict[str, str] | None = None,
                      outputs: dict[str, dict[str, Any]] | None = None) -> list[Registration]:
    """Register ``resources`` through the real components under the mock runtime; each component's
    registered outputs go into ``outputs`` (by URN) when given."""
    return run_with_mocks(project_name, stack, lambda: build_stack(resources, pulumi.Config(project_name)), config, outputs)


def run_with_mocks(project_name: str, stack: str, program: Callable[[], None], config: dict[str, str] | None = None,
                   outputs: dict[str, dict[str, Any]] | None = None) -> list[Registration]:
    """Run a Pulumi program under the mock runtime as stack ``stack``; every registration, in order."""
    fake = RecordingMocks()
    monitor = RecordingMonitor(fake)
    # Pulumi's mock runtime uses the thread's current event loop; an earlier asyncio.run() in this
    # thread leaves none behind.
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.reset_options(project=project_name, stack=stack)  # a fresh root stack for this run
    pulumi.runtime.set_all_config(config or {})
    pulumi.runtime.set_mocks(fake, project=project_name, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.test(program)()
    if outputs is not None:
        outputs.update(monitor.outputs)
    return monitor.registrations
