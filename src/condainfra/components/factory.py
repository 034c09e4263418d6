"""Turn compiled resource specs into real Pulumi resources.

The compiled list is the single source of truth: this module only translates
its engine-side names back to SDK arguments, so the program cannot register
anything the plan did not show.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import pulumi
import pulumi_aws as aws
import pulumi_github as github

from ..compiler.resources import JSON, LOOKUP, REF, SECRET, Resource
from ..errors import CondainfraError

SDKS = {"aws": aws, "github": github}


@functools.lru_cache(maxsize=None)
def custom_class(type_token: str) -> type[pulumi.CustomResource]:
    """The SDK class of a type token (``aws:s3/bucket:Bucket`` -> ``pulumi_aws.s3.Bucket``,
    ``pulumi:providers:aws`` -> ``pulumi_aws.Provider``), checked against the token the SDK
    itself declares for it, so a compiled token can only name a real, current resource."""
    package, _, rest = type_token.partition(":")
    if package == "pulumi" and rest.startswith("providers:"):
        sdk = SDKS.get(rest.removeprefix("providers:"))
        if sdk is None:
            raise CondainfraError(f"{type_token}: no provider SDK for it is installed")
        return sdk.Provider
    module_path, _, name = rest.partition(":")
    sdk = SDKS.get(package)
    module = module_path.split("/", 1)[0]
    target = sdk if module == "index" else getattr(sdk, module, None) if sdk else None
    cls = getattr(target, name, None) if target is not None else None
    if cls is None or getattr(cls, "pulumi_type", None) != type_token:
        raise CondainfraError(f"{type_token}: not a resource type of the installed {package} SDK")
    return cls


@functools.lru_cache(maxsize=None)
def lookup_function(token: str) -> Callable[..., pulumi.Output]:
    """The SDK's output form of a data source (``github:index/getTeam:getTeam`` -> ``pulumi_github.get_team_output``)."""
    package, _, rest = token.partition(":")
    module_path, _, name = rest.partition(":")
    sdk = SDKS.get(package)
    module = module_path.split("/", 1)[0]
    target = sdk if module == "index" else getattr(sdk, module, None) if sdk else None
    function = getattr(target, f"{snake(name)}_output", None) if target is not None else None
    if function is None:
        raise CondainfraError(f"{token}: not a data source of the installed {package} SDK")
    return function


def input_names(type_token: str) -> set[str]:
    """The SDK's argument names of a resource type (snake_case), from its constructor."""
    cls = custom_class(type_token)
    params = inspect.signature(cls._internal_init).parameters
    return {p for p in params if p not in ("__self__", "resource_name", "opts", "__props__")}


# component type token -> class; filled by the component modules as they are imported
COMPONENT_TYPES: dict[str, Callable[..., pulumi.ComponentResource]] = {}

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def component(type_token: str):
    def register(cls):
        COMPONENT_TYPES[type_token] = cls
        return cls

    return register


def resolve_secret(source: str, config: pulumi.Config) -> pulumi.Output:
    kind, _, key = source.partition(":")
    if kind == "env":
        value = os.environ.get(key)
        if value is None:
            raise CondainfraError(f"secret source {source!r}: environment variable {key} is not set")
        return pulumi.Output.secret(value)
    value = config.get_secret(key)
    if value is None:
        raise CondainfraError(f"secret source {source!r}: set it with `condainfra secrets set --stack {pulumi.get_stack()} {key}` (the value on stdin)")
    return value


@dataclass
class BuildContext:
    """What the components share while the program runs: the specs by parent and what was created."""

    resources: list[Resource]
    config: pulumi.Config = field(default_factory=pulumi.Config)
    created: dict[str, pulumi.Resource] = field(default_factory=dict)
    children: dict[str | None, list[Resource]] = field(default_factory=dict)
    # one invoke per data source, arguments and provider, however many resources read it
    lookups: dict[tuple, pulumi.Output] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for spec in self.resources:
            self.children.setdefault(spec.parent, []).append(spec)

    def value(self, value: Any, keys=snake, provider: str | None = None) -> Any:
        """An input for the SDK: markers resolved, object keys turned into the SDK's argument names
        (left as written inside a JSON document). ``provider`` is the URN data sources are read with."""
        if isinstance(value, dict):
            if SECRET in value:
                return resolve_secret(value[SECRET], self.config)
            if REF in value:
                return getattr(self.created[value[REF]], snake(value["output"]))
            if LOOKUP in value:
                return self.lookup(value, provider)
            if JSON in value:
                return pulumi.Output.json_dumps(pulumi.Output.from_input(self.value(value[JSON], keys=str, provider=provider)), sort_keys=True)
            return {keys(k): self.value(v, keys, provider) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, keys, provider) for v in value]
        return value

    def lookup(self, marker: dict[str, Any], provider: str | None) -> pulumi.Output:
        args = {snake(k): v for k, v in sorted(marker["args"].items())}
        key = (marker[LOOKUP], tuple(args.items()), provider)
        if key not in self.lookups:
            opts = pulumi.InvokeOutputOptions(provider=self.created[provider]) if provider else None
            self.lookups[key] = lookup_function(marker[LOOKUP])(**args, opts=opts)
        output = snake(marker["output"])
        return self.lookups[key].apply(lambda result: getattr(result, output))

    def options(self, spec: Resource, parent: pulumi.Resource | None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=parent,
            depends_on=[self.created[urn] for urn in spec.dependencies] or None,
            provider=self.created[spec.provider] if spec.provider else None,
            protect=spec.protect or None,
            # full old URNs: the SDK sends a string alias to the engine as is
            aliases=list(spec.aliases) or None,
            ignore_changes=[snake(k) for k in spec.ignore_changes] or None,
            retain_on_delete=spec.retain_on_delete or None,
        )

    def build(self, spec: Resource, parent: pulumi.Resource | None) -> pulumi.Resource:
        if spec.custom:
            cls = custom_class(spec.type)
            kwargs = {snake(k): self.value(v, provider=spec.provider) for k, v in spec.inputs.items()}
            resource = cls(spec.name, **kwargs, opts=self.options(spec, parent))
        else:
            cls = COMPONENT_TYPES[spec.type]
            resource = cls(spec.name, cls.Args(spec=spec, context=self), opts=self.options(spec, parent))
        self.created[spec.urn] = resource
        return resource

    def build_children(self, parent: pulumi.Resource, spec: Resource) -> list[pulumi.Resource]:
        return [self.build(child, parent) for child in self.children.get(spec.urn, [])]


def build_stack(resources: list[Resource], config: pulumi.Config | None = None) -> BuildContext:
    """Register every compiled resource, top-level components first; they build their children."""
    import importlib
    import pkgutil

    from .. import components

    for module in pkgutil.iter_modules(components.__path__):  # each module registers its component types
        importlib.import_module(f"{components.__name__}.{module.name}")

    context = BuildContext(resources, config or pulumi.Config())
    for spec in context.children.get(None, []):
        context.build(spec, None)
    return context
