from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from condainfra.cli.main import main

REPO = Path(__file__).resolve().parents[1]

# a run fails if a process it started outlives it (tests/leftovers.py)
pytest_plugins = ["tests.leftovers", "tests.scheduling"]

# Variables the CLI reads from whoever runs it. A CI runner sets CI=true, a maintainer may have a
# backend, a token or a passphrase exported: none of them may change what a test sees. Tests that
# need one set it themselves.
CALLER_ENVIRONMENT = (
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_TOKEN",
    "PULUMI_BACKEND_URL",
    "PULUMI_ACCESS_TOKEN",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "CONDAINFRA_ROOT",
    "CONDAINFRA_DEBUG",
    "CONDAINFRA_OCI_USERNAME",
    "CONDAINFRA_OCI_TOKEN",
)


@pytest.fixture(autouse=True)
def _hermetic_environment(monkeypatch):
    for name in CALLER_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def hostile():
    """tests/hostile_server.py on 127.0.0.1 with bombs small enough for tests (64 MiB), stopped after the test."""
    from tests.hostile_server import HostileServer

    with HostileServer(bomb_size=64 << 20, huge_size=64 << 20, trickle_every=0.2) as server:
        yield server


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of the shipped project (Pulumi.yaml and stacks/), committed in a fresh git repository."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(REPO / "stacks", root / "stacks")
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "add", "-A")
    git(root, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "shipped stacks")
    return root


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    """A small project written by the test: one org, no feedstocks."""
    root = tmp_path / "mini"
    (root / "stacks" / "acme").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: condainfra\nruntime: python\nstackConfigDir: stacks\n")
    (root / "stacks" / "acme" / "org.yaml").write_text(
        "org: acme\n"
        "settings:\n"
        "  billing_email: admin@acme.example\n"
        "owners: [alice, bob]\n"
        "members: [carol]\n"
        "teams:\n"
        "  core:\n"
        "    members: [alice, bob]\n"
        "feedstocks:\n"
        "  shards: 2\n"
    )
    (root / "stacks" / "acme" / "feedstocks").mkdir()
    return root


class Result:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def cli(capsys):
    """Run the condainfra CLI in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> Result:
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
