"""Every free text from the engine passes through the one scrubber (redact.Scrubber), which knows the values
of the `env:` secrets the CLI was given, its credentials, and the stack's decrypted config secrets (issue 16).

Before, only the backend URL was scrubbed: `token ghp_… was used` reached text, Markdown and JSON, and
the drift report is published in an issue, where GitHub's log masking does not apply.

Mock: the Pulumi CLI (tests/engine/fake_pulumi.py)."""

from __future__ import annotations

import base64
import json

import pytest

from .conftest import commands, deployed, diagnostic, failed, scenario, step, urn_of

ENV_SECRET = "ghp_envSecretValue0123456789"
CONFIG_SECRET = "cfg-Secret-Value-9876543210"
CREDENTIAL = "ghp_orgAdminToken5555555555"


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_engine_messages_are_scrubbed_of_every_secret_the_cli_knows(cli, workdir, fake_pulumi, tmp_path, monkeypatch, fmt):
    monkeypatch.setenv("CF_ADMIN_GITHUB_TOKEN", ENV_SECRET)  # an `env:` secret source of the conda-forge stack
    monkeypatch.setenv("GITHUB_TOKEN", CREDENTIAL)
    deployed(workdir, "conda-forge")
    config = workdir / "stacks" / "Pulumi.conda-forge.yaml"
    encoded = base64.b64encode(CONFIG_SECRET.encode()).decode()
    config.write_text(config.read_text() + f"config:\n  condainfra:STAGING_BINSTAR_TOKEN:\n    secure: v1:plain:{encoded}\n")
    team = urn_of(workdir, "conda-forge", "team:Team", "core")
    scenario(tmp_path, monkeypatch, {"conda-forge": {"preview": [
        diagnostic(f"token {ENV_SECRET} was used"),
        diagnostic(f"config value {CONFIG_SECRET} looked odd", urn=team),
        step("update", team, old={"description": f"was {CREDENTIAL}"}, new={"description": "now"}, diffs=["description"]),
        diagnostic(f"update failed: 401 for {CREDENTIAL}", severity="error"),
        failed(team),
    ], "preview_error": f"error: preview failed with {ENV_SECRET}"}})
    result = cli("preview", "--stack", "conda-forge", "--format", fmt, "--root", str(workdir))
    assert result.code == 1
    everything = result.out + result.err
    for value in (ENV_SECRET, CONFIG_SECRET, CREDENTIAL):
        assert value not in everything, value
    assert "[secret]" in everything and "was used" in everything
    assert "config --show-secrets" in " ".join(" ".join(c["args"]) for c in fake_pulumi())
    if fmt == "json":
        (stack,) = json.loads(result.out)["stacks"]
        assert any("was used" in d for d in stack["diagnostics"]) and "[secret]" in stack["error"]


def test_a_stack_without_config_secrets_costs_no_extra_command(cli, workdir, fake_pulumi):
    deployed(workdir, "bioconda")
    assert cli("preview", "--stack", "bioconda", "--root", str(workdir)).code == 0
    assert commands(fake_pulumi()) == ["version", "stack select", "stack export", "preview"]
