"""Engine commands check what they can on their own first: the arguments before the Pulumi CLI is looked
for, and whether a stack exists before a passphrase is asked for (with the recording fake `pulumi`)."""

from __future__ import annotations

from .conftest import commands


def test_a_missing_stack_argument_is_said_before_the_missing_pulumi_cli(cli, workdir, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi anywhere
    for command in ("preview", "up"):
        result = cli(command, "--root", str(workdir))
        assert result.code == 1 and "name the stacks with --stack NAME" in result.err, result.err
        assert "Pulumi CLI" not in result.err
    result = cli("preview", "--stack", "no-such-stack", "--root", str(workdir))
    assert result.code == 1 and "no-such-stack" in result.err and "Pulumi CLI" not in result.err


def test_preview_of_a_stack_never_created_says_so_before_asking_for_the_passphrase(cli, workdir, fake_pulumi, monkeypatch):
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    result = cli("preview", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 1
    assert "stack bioconda does not exist" in result.err and "condainfra init --stack bioconda" in result.err, result.err
    assert "PULUMI_CONFIG_PASSPHRASE" not in result.err
    assert commands(fake_pulumi()) == ["version", "stack ls"]


def test_preview_of_an_existing_stack_still_needs_the_passphrase(cli, workdir, fake_pulumi, monkeypatch):
    assert cli("init", "--stack", "bioconda", "--root", str(workdir)).code == 0
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    result = cli("preview", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 1 and "PULUMI_CONFIG_PASSPHRASE" in result.err, result.err
    assert "preview" not in commands(fake_pulumi())
