"""Every compiled resource names a real, current resource of the installed provider SDKs: its type
token is the token the SDK class declares, and each input is one of that class's arguments. A typo
or a renamed input fails here, before any engine sees it."""

from __future__ import annotations

import inspect
import re
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from condainfra.components.factory import COMPONENT_TYPES, custom_class, input_names, snake
from condainfra.project import Project

REPO = Path(__file__).resolve().parents[2]
PROJECT = Project.load(REPO)
STACKS = [s.name for s in PROJECT.stacks() if s.kind != "feedstocks" or PROJECT.feedstocks_of(s)]


@lru_cache(maxsize=None)
def deprecated_inputs(type_token: str) -> frozenset[str]:
    """The inputs the SDK's generated code warns about (`pulumi.log.warn("x is deprecated: ...")`)."""
    source = inspect.getsource(sys.modules[custom_class(type_token).__module__])
    return frozenset(re.findall(r'pulumi\.log\.warn\("""(\w+) is deprecated', source))


def test_deprecations_are_found_in_the_sdk():
    assert {"vulnerability_alerts", "default_branch", "private"} <= deprecated_inputs("github:index/repository:Repository")
    assert "create_default_maintainer" in deprecated_inputs("github:index/team:Team")


@pytest.mark.parametrize("stack", STACKS)
def test_no_compiled_input_is_deprecated_and_ignore_changes_name_real_inputs(stack):
    problems = []
    for r in PROJECT.compile(PROJECT.stack(stack)):
        if not r.custom:
            continue
        names, deprecated = input_names(r.type), deprecated_inputs(r.type)
        problems += [f"{r.type} {r.name}: {k!r} is deprecated in the SDK" for k in r.inputs if snake(k) in deprecated]
        problems += [f"{r.type} {r.name}: ignoreChanges {k!r} is no input" for k in r.ignore_changes if snake(k) not in names]
        problems += [f"{r.type} {r.name}: ignoreChanges {k!r} is deprecated" for k in r.ignore_changes if snake(k) in deprecated]
    assert problems == []


@pytest.mark.parametrize("stack", STACKS)
def test_type_tokens_and_inputs_exist_in_the_sdks(stack):
    resources = PROJECT.compile(PROJECT.stack(stack))
    assert resources
    problems = []
    for r in resources:
        if not r.custom:
            continue
        try:
            names = input_names(r.type)
        except Exception as exc:  # the resolver's own message names the token
            problems.append(str(exc))
            continue
        problems += [f"{r.type} {r.name}: no input {k!r} ({snake(k)})" for k in r.inputs if snake(k) not in names]
    assert problems == []


def test_component_types_are_registered():
    # build_stack imports every component module; do the same here without building anything
    import importlib
    import pkgutil

    from condainfra import components

    for module in pkgutil.iter_modules(components.__path__):
        importlib.import_module(f"{components.__name__}.{module.name}")
    for stack in STACKS:
        for r in PROJECT.compile(PROJECT.stack(stack)):
            if not r.custom:
                assert r.type in COMPONENT_TYPES, r.type


def test_the_resolver_refuses_what_the_sdk_does_not_have():
    for token in ("aws:s3/bucket:Buckets", "aws:s3/bucketV2:Bucket", "github:index/team:Teams", "nope:index/x:X", "pulumi:providers:nope"):
        with pytest.raises(Exception):
            custom_class(token)
    assert custom_class("aws:s3/bucket:Bucket").pulumi_type == "aws:s3/bucket:Bucket"
