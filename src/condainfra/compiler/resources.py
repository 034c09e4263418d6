"""The compiled desired state: plain data a reviewer, a diff and the Pulumi program all read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Markers inside inputs for values the compiler cannot know.
SECRET = "$secret"  # {"$secret": "config:KEY" | "env:VAR"}: resolved only by the Pulumi program
REF = "$ref"  # {"$ref": URN, "output": "repoId"}: an output of another resource in the stack
# {"$json": value}: a JSON document (an IAM policy, ECS container definitions) that holds markers;
# the program serialises it (sorted keys) once the markers resolve. Keys inside are kept as written.
JSON = "$json"
# {"$lookup": function token, "args": {...}, "output": "id"}: an output of a data source the program reads
# with the resource's provider (a team another stack owns, found by its slug)
LOOKUP = "$lookup"


def secret(source: str) -> dict[str, str]:
    return {SECRET: source}


def ref(resource: Resource, output: str) -> dict[str, str]:
    return {REF: resource.urn, "output": output}


def lookup(function: str, args: dict[str, Any], output: str) -> dict[str, Any]:
    return {LOOKUP: function, "args": args, "output": output}


def json_document(value: Any) -> dict[str, Any]:
    return {JSON: value}


def referenced(value: Any) -> list[str]:
    """The URNs whose outputs ``value`` refers to, in order: the engine makes each a dependency."""
    found: list[str] = []
    if isinstance(value, dict):
        if REF in value:
            return [value[REF]]
        for v in value.values():
            found += referenced(v)
    elif isinstance(value, list):
        for v in value:
            found += referenced(v)
    return found


# the few distinct ignoreChanges lists of a saved render, each kept once however many resources carry it
_SHARED: dict[tuple[str, ...], tuple[str, ...]] = {}


def _shared(value: tuple[str, ...]) -> tuple[str, ...]:
    return _SHARED.setdefault(value, value) if value else ()


@dataclass(slots=True)
class Resource:
    urn: str
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    dependencies: tuple[str, ...] = ()
    provider: str | None = None
    protect: bool = False
    custom: bool = True
    # the FULL URNs this resource had under earlier names (`previously:`): the engine moves it, no replace
    aliases: tuple[str, ...] = ()
    # inputs (engine-side names) the config does not manage: after an import, GitHub's value stays
    ignore_changes: tuple[str, ...] = ()
    # deleting it only forgets it: what it manages stays as GitHub has it (a team's members whose list
    # became unknown are kept, never removed; the provider's delete would empty the team)
    retain_on_delete: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"urn": self.urn, "type": self.type, "name": self.name, "parent": self.parent, "inputs": self.inputs}
        if self.dependencies:
            out["dependencies"] = list(self.dependencies)
        if self.provider:
            out["provider"] = self.provider
        if self.protect:
            out["protect"] = True
        if not self.custom:
            out["custom"] = False
        if self.aliases:
            out["aliases"] = list(self.aliases)
        if self.ignore_changes:
            out["ignoreChanges"] = list(self.ignore_changes)
        if self.retain_on_delete:
            out["retainOnDelete"] = True
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Resource:
        return cls(
            urn=data["urn"],
            type=data["type"],
            name=data["name"],
            parent=data.get("parent"),
            inputs=data.get("inputs", {}),
            dependencies=tuple(data.get("dependencies", ())),
            provider=data.get("provider"),
            protect=bool(data.get("protect", False)),
            custom=bool(data.get("custom", True)),
            aliases=tuple(data.get("aliases", ())),
            ignore_changes=_shared(tuple(data.get("ignoreChanges", ()))),
            retain_on_delete=bool(data.get("retainOnDelete", False)),
        )


@dataclass
class StackBuilder:
    """Collects resources in registration order and names them as the engine would.

    A URN is ``urn:pulumi:<stack>::<project>::<qualified type>::<name>`` where the
    qualified type is the chain of parent types joined by ``$``, the root stack
    resource left out (pulumi/pulumi sdk/go/common/resource/urn.go).
    """

    stack: str
    project: str
    resources: list[Resource] = field(default_factory=list)
    _qualified: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._prefix = f"urn:pulumi:{self.stack}::{self.project}::"

    def urn_of(self, type_: str, name: str, parent: Resource | None = None) -> str:
        """The URN a resource of this type and name under ``parent`` has (or had: an alias's old URN)."""
        qualified = f"{self._qualified[parent.urn]}${type_}" if parent else type_
        return f"{self._prefix}{qualified}::{name}"

    def adopt(self, resources: list[Resource]) -> None:
        """Take resources compiled elsewhere for the same stack (identical inputs give identical resources)."""
        for resource in resources:
            if resource.urn in self._qualified:
                raise ValueError(f"two resources would share the URN {resource.urn}")
            self._qualified[resource.urn] = resource.urn.split("::")[2]
            self.resources.append(resource)

    def add(
        self,
        type_: str,
        name: str,
        inputs: dict[str, Any] | None = None,
        *,
        parent: Resource | None = None,
        depends_on: tuple[Resource, ...] = (),
        provider: Resource | None = None,
        protect: bool = False,
        custom: bool = True,
        aliases: tuple[str, ...] = (),
        ignore_changes: tuple[str, ...] = (),
        retain_on_delete: bool = False,
    ) -> Resource:
        # called ~200,000 times for conda-forge: positional construction, one prefix string
        qualified = f"{self._qualified[parent.urn]}${type_}" if parent else type_
        urn = f"{self._prefix}{qualified}::{name}"
        if urn in self._qualified:
            raise ValueError(f"two resources would share the URN {urn}")
        self._qualified[urn] = qualified
        resource = Resource(
            urn,
            type_,
            name,
            parent.urn if parent else None,
            inputs or {},
            tuple([d.urn for d in depends_on]) if depends_on else (),
            provider.urn if provider else None,
            protect,
            custom,
            aliases,
            ignore_changes,
            retain_on_delete,
        )
        self.resources.append(resource)
        return resource
