"""The real Pulumi program, run under Pulumi's mock runtime, registers exactly the compiled resources.

Mock: the Pulumi engine (no CLI can run here). Everything else is real: the
component classes, pulumi-github's resource classes and the SDK's RPC layer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from condainfra.compiler.resources import JSON, LOOKUP, REF, SECRET
from condainfra.engine.mockrun import mock_lookup, mock_output, render_with_mocks
from condainfra.project import Project

REPO = Path(__file__).resolve().parents[2]
PROJECT = Project.load(REPO)


looked_up = mock_lookup  # Mock: the Pulumi engine's invoke of a data source (engine/mockrun.py answers them)


def expected_value(value, resources_by_urn):
    if isinstance(value, dict):
        if LOOKUP in value:
            return looked_up(value[LOOKUP], value["args"])[value["output"]]
        if SECRET in value:
            return {"$secret": "***"}
        if REF in value:
            target = resources_by_urn[value[REF]]
            if value["output"] in target.inputs:  # the mock echoes a resource's inputs back as its state
                return expected_value(target.inputs[value["output"]], resources_by_urn)
            resolved = mock_output(target.name, value["output"])
            return float(resolved) if isinstance(resolved, int) else resolved
        if JSON in value:
            return json.dumps(expected_value(value[JSON], resources_by_urn), sort_keys=True)
        return {k: expected_value(v, resources_by_urn) for k, v in value.items()}
    if isinstance(value, list):
        return [expected_value(v, resources_by_urn) for v in value]
    return value


def provider_wire(inputs):
    # Provider inputs travel as strings: the SDK JSON-encodes every non-string value.
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in inputs.items()}


def normalise_compiled(resources):
    by_urn = {r.urn: r for r in resources}
    return {
        r.urn: (
            r.type, r.name, r.parent,
            provider_wire(r.inputs) if r.type.startswith("pulumi:providers:") else expected_value(r.inputs, by_urn),
            frozenset(r.dependencies), r.provider, r.protect, r.custom, r.retain_on_delete,
        )
        for r in resources
    }


def normalise_recorded(registrations):
    return {
        r.urn: (r.type, r.name, r.parent, r.inputs, frozenset(r.dependencies), r.provider, r.protect, r.custom, r.retain_on_delete)
        for r in registrations
    }


def secret_config(resources):
    env, config = {}, {}

    def walk(value):
        if isinstance(value, dict):
            if SECRET in value:
                kind, _, key = value[SECRET].partition(":")
                (env if kind == "env" else config)[key] = f"value-of-{key}"
                return
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for r in resources:
        walk(r.inputs)
    return env, {f"{PROJECT.name}:{k}": v for k, v in config.items()}


@pytest.mark.parametrize("stack", [s.name for s in PROJECT.stacks() if s.kind != "feedstocks" or PROJECT.feedstocks_of(s)])
def test_mock_runtime_registers_the_compiled_resources(stack, monkeypatch):
    for var in ("GITHUB_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    spec = PROJECT.stack(stack)
    compiled = PROJECT.compile(spec)
    env, config = secret_config(compiled)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    recorded = render_with_mocks(PROJECT.name, stack, compiled, config)
    assert len(recorded) == len(compiled)
    assert normalise_recorded(recorded) == normalise_compiled(compiled)


def test_secret_values_never_reach_the_recorded_inputs(monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    compiled = PROJECT.compile(PROJECT.stack("conda-forge"))
    env, config = secret_config(compiled)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    recorded = render_with_mocks(PROJECT.name, "conda-forge", compiled, config)
    secrets = [r for r in recorded if r.type.endswith("ActionsOrganizationSecret")]
    assert secrets and all(r.inputs["value"] == {"$secret": "***"} for r in secrets)
    assert "value-of-" not in repr(recorded)


def test_a_missing_secret_value_is_a_clear_error(monkeypatch):
    from condainfra.errors import CondainfraError

    compiled = PROJECT.compile(PROJECT.stack("conda-forge"))
    monkeypatch.delenv("CF_ADMIN_GITHUB_TOKEN", raising=False)
    with pytest.raises(CondainfraError, match="condainfra secrets set --stack conda-forge STAGING_BINSTAR_TOKEN"):
        render_with_mocks(PROJECT.name, "conda-forge", compiled, {})


def test_lookups_aliases_and_shared_teams_register_as_compiled(minimal, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    org = minimal / "stacks/acme/org.yaml"
    org.write_text(org.read_text().replace("teams:\n  core:\n", "repositories:\n  docs: {manage: false}\n"
                   "secrets:\n  TOKEN: {visibility: selected, repositories: [docs], source: 'env:TOKEN'}\n"
                   "teams:\n  r:\n    previously: [r-helpers]\n    members: [carol]\n  core:\n"))
    (minimal / "stacks/acme/feedstocks/a.yaml").write_text("r: [carol]\ncurrent:\n  maintainers: [acme/r]\n  previously: [fresh]\n")
    monkeypatch.setenv("TOKEN", "value-of-TOKEN")
    project = Project.load(minimal)
    for spec in project.stacks():
        compiled = project.compile(spec)
        recorded = render_with_mocks(project.name, spec.name, compiled, {})
        assert normalise_recorded(recorded) == normalise_compiled(compiled), spec.name
    secret_ids = next(r for r in render_with_mocks(project.name, "acme", project.compile(project.stack("acme")), {})
                      if r.type.endswith("ActionsOrganizationSecretRepositories")).inputs["selectedRepositoryIds"]
    assert secret_ids == [float(len("acme/docs"))]


@pytest.mark.parametrize(("stack", "component", "keys"), [
    ("mirror", "condainfra:mirror:ReadRegistry", {"load_balancer_dns"}),
    ("mirror", "condainfra:mirror:SyncJob", {"role_arn"}),
    ("mirror", "condainfra:mirror:RegistryStorage", {"bucket"}),
    ("dashboard", "condainfra:dashboard:QuetzDeployment", {"bucket", "database_endpoint", "load_balancer_dns", "url"}),
])
def test_components_output_the_resources_nested_below_them(stack, component, keys, monkeypatch):
    # the load balancer, database and certificate sit in nested components: an output that looked only
    # at direct children would register as None
    compiled = PROJECT.compile(PROJECT.stack(stack))
    env, config = secret_config(compiled)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    outputs: dict = {}
    render_with_mocks(PROJECT.name, stack, compiled, config, outputs)
    found = [o for urn, o in outputs.items() if urn.split("::")[2].endswith(component)]
    assert found, sorted(outputs)
    for registered in found:
        assert keys <= registered.keys()
        assert all(registered[k] not in (None, "") for k in keys), registered
