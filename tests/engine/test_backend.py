"""Day-one state, config and secrets: the checkout's file backend, the passphrase provider, init,
secrets set/list and outputs. Mock: the Pulumi CLI (tests/engine/fake_pulumi.py)."""

from __future__ import annotations

import io
import json
import sys

import yaml

from .conftest import commands, deployed, scenario, stack_file

STATE_URI = lambda root: (root / ".condainfra" / "state").absolute().as_uri()  # noqa: E731


def _stdin(monkeypatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_init_creates_the_stacks_in_the_file_backend_with_the_passphrase_provider(cli, workdir, fake_pulumi):
    result = cli("init", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 0, result.err
    assert f"bioconda: created in {STATE_URI(workdir)}" in result.out
    init = next(c for c in fake_pulumi() if commands([c]) == ["stack init"])
    assert [a for a in init["args"] if a != "--non-interactive"] == ["stack", "init", "bioconda", "--secrets-provider", "passphrase"]
    assert init["backend"] == STATE_URI(workdir) and init["passphrase"]
    assert stack_file(workdir, "bioconda").is_file()
    config = yaml.safe_load((workdir / "stacks" / "Pulumi.bioconda.yaml").read_text())  # stackConfigDir: stacks
    assert "encryptionsalt" in config
    again = cli("init", "--stack", "bioconda", "--root", str(workdir))
    assert again.code == 0 and "bioconda: exists already" in again.out


def test_the_state_folder_is_ignored_by_git(workdir):
    import pathlib

    ignored = pathlib.Path(__file__).resolve().parents[2] / ".gitignore"
    assert ".condainfra/" in ignored.read_text().splitlines()


def test_init_with_a_kms_provider_needs_no_passphrase(cli, workdir, fake_pulumi, monkeypatch):
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    result = cli("init", "--stack", "mirror", "--secrets-provider", "awskms://alias/condainfra", "--root", str(workdir))
    assert result.code == 0, result.err
    init = next(c for c in fake_pulumi() if commands([c]) == ["stack init"])
    assert init["args"][-2:] == ["--secrets-provider", "awskms://alias/condainfra"] and not init["passphrase"]
    assert yaml.safe_load((workdir / "stacks" / "Pulumi.mirror.yaml").read_text())["secretsprovider"] == "awskms://alias/condainfra"


def test_a_missing_passphrase_is_one_clear_error_before_pulumi_runs(cli, workdir, fake_pulumi, monkeypatch):
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    result = cli("init", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 1
    assert "PULUMI_CONFIG_PASSPHRASE" in result.err and "Traceback" not in result.err
    assert commands(fake_pulumi()) == []


def test_secrets_set_reads_the_value_from_stdin_never_argv(cli, workdir, fake_pulumi, monkeypatch, tmp_path):
    assert cli("init", "--stack", "conda-forge", "--root", str(workdir)).code == 0
    _stdin(monkeypatch, "s3cr3t-value\n")
    result = cli("secrets", "set", "--stack", "conda-forge", "BINSTAR_TOKEN", "--root", str(workdir))
    assert result.code == 0, result.err
    assert "conda-forge: secret BINSTAR_TOKEN set" in result.out
    (call,) = [c for c in fake_pulumi() if commands([c]) == ["config set"]]
    assert [a for a in call["args"] if a != "--non-interactive"] == ["config", "set", "BINSTAR_TOKEN", "--secret", "--stack", "conda-forge"]
    assert call["stdin_chars"] == len("s3cr3t-value")  # the final newline dropped
    assert call["backend"] == STATE_URI(workdir) and call["passphrase"]
    everything = json.dumps(fake_pulumi()) + result.out + result.err + (workdir / "stacks" / "Pulumi.conda-forge.yaml").read_text()
    assert "s3cr3t-value" not in everything
    listed = cli("secrets", "list", "--stack", "conda-forge", "--root", str(workdir))
    assert listed.code == 0 and listed.out.split() == ["BINSTAR_TOKEN"]


def test_secrets_set_refuses_an_empty_value_and_a_name_like_a_flag(cli, workdir, fake_pulumi, monkeypatch):
    assert cli("init", "--stack", "conda-forge", "--root", str(workdir)).code == 0
    _stdin(monkeypatch, "")
    empty = cli("secrets", "set", "--stack", "conda-forge", "BINSTAR_TOKEN", "--root", str(workdir))
    assert empty.code == 1 and "no value on standard input" in empty.err
    flag = cli("secrets", "set", "--stack", "conda-forge", "--", "--show-secrets", "--root", str(workdir))
    assert flag.code != 0
    assert "config set" not in commands(fake_pulumi())


def test_secrets_set_on_a_missing_stack_says_to_init_it(cli, workdir, fake_pulumi, monkeypatch):
    _stdin(monkeypatch, "value")
    result = cli("secrets", "set", "--stack", "bioconda", "BINSTAR_TOKEN", "--root", str(workdir))
    assert result.code == 1 and "condainfra init --stack bioconda" in result.err
    assert "config set" not in commands(fake_pulumi())


def test_secrets_set_then_preview_on_the_file_backend(cli, workdir, fake_pulumi, monkeypatch):
    # the acceptance path: set a secret, then preview the stack, on the embedded default backend
    deployed(workdir, "bioconda")
    _stdin(monkeypatch, "token")
    assert cli("secrets", "set", "--stack", "bioconda", "GH_TOKEN", "--root", str(workdir)).code == 0
    result = cli("preview", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 0, result.err
    # the stack now holds a secret: the run reads its value once, for the scrubber (redact.Scrubber)
    assert commands(fake_pulumi()) == ["version", "stack select", "config set", "version", "stack select", "config --show-secrets", "stack export", "preview"]
    preview = fake_pulumi()[-1]
    assert preview["backend"] == STATE_URI(workdir) and preview["passphrase"]


def test_outputs_masks_secrets_unless_asked(cli, workdir, fake_pulumi, tmp_path, monkeypatch):
    deployed(workdir, "mirror", outputs={"registry": {"value": "ghcr.io/conda-forge", "secret": False}, "push_token": {"value": "tok-123", "secret": True}})
    masked = cli("outputs", "--stack", "mirror", "--format", "json", "--root", str(workdir))
    assert masked.code == 0, masked.err
    assert json.loads(masked.out) == {"push_token": "[secret]", "registry": "ghcr.io/conda-forge"}
    text = cli("outputs", "--stack", "mirror", "--root", str(workdir))
    assert "registry: ghcr.io/conda-forge" in text.out and "tok-123" not in text.out
    shown = cli("outputs", "--stack", "mirror", "--format", "json", "--show-secrets", "--root", str(workdir))
    assert json.loads(shown.out)["push_token"] == "tok-123"
    assert cli("outputs", "--stack", "mirror", "--format", "yaml", "--root", str(workdir)).code != 0


def test_a_shared_backend_url_is_passed_on_and_shown_without_its_credentials(cli, workdir, fake_pulumi, monkeypatch):
    url = "s3://AKIAEXAMPLE:wJalrXUtn@condainfra-state?region=us-east-1"
    result = cli("preview", "--stack", "bioconda", "--backend", url, "--root", str(workdir))
    assert result.code == 1  # the stack does not exist there
    assert "s3://condainfra-state?region=us-east-1" in result.err
    assert "wJalrXUtn" not in result.out + result.err
    assert {c["backend"] for c in fake_pulumi()[1:]} == {url}
    monkeypatch.setenv("PULUMI_BACKEND_URL", url)
    again = cli("preview", "--stack", "bioconda", "--root", str(workdir))
    assert "wJalrXUtn" not in again.out + again.err and {c["backend"] for c in fake_pulumi()[1:]} == {url}
    assert not (workdir / ".condainfra" / "state").exists()  # the checkout's own backend was not used


def test_ci_must_name_its_backend(cli, workdir, fake_pulumi, monkeypatch):
    # a fresh runner's state folder is empty: `up` against it would recreate the org
    monkeypatch.setenv("CI", "true")
    result = cli("up", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 1 and "PULUMI_BACKEND_URL" in result.err and "Traceback" not in result.err
    assert commands(fake_pulumi()) == []
    explicit = cli("init", "--stack", "bioconda", "--backend", STATE_URI(workdir), "--root", str(workdir))
    assert explicit.code == 0, explicit.err


def test_a_value_given_on_the_command_line_is_refused_and_not_echoed(cli, workdir, fake_pulumi):
    assert cli("init", "--stack", "conda-forge", "--root", str(workdir)).code == 0
    result = cli("secrets", "set", "--stack", "conda-forge", "TOKEN", "supersecretargv", "--root", str(workdir))
    assert result.code == 1 and "standard input only" in result.err
    assert "supersecretargv" not in result.out + result.err
    assert "config set" not in commands(fake_pulumi())


def test_secrets_list_on_a_missing_stack_says_to_init_it(cli, workdir):
    result = cli("secrets", "list", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 1 and "condainfra init --stack bioconda" in result.err


def test_a_stack_config_file_cannot_be_made_to_expand(tmp_path):
    # a pull request can edit stacks/Pulumi.<stack>.yaml: aliases nested to blow up memory are one message
    import pytest

    from condainfra.engine.backend import read_stack_config
    from condainfra.errors import CondainfraError
    from condainfra.project import Project

    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: condainfra\nruntime: python\nstackConfigDir: stacks\n")
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]" for i in range(1, 9)]
    (tmp_path / "stacks" / "Pulumi.conda-forge.yaml").write_text("\n".join(lines) + "\n")
    project = Project(root=tmp_path, name="condainfra", orgs={})
    with pytest.raises(CondainfraError, match=r"Pulumi\.conda-forge\.yaml:\d+: aliases"):
        read_stack_config(project, "conda-forge")
