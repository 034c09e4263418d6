"""The Pulumi CLI release the workflows install (.pulumi-version, the one place it is named) is one the
engine code drives: at least the Automation API's minimum, and its event transport (gRPC after v3.205)
gives the same report.

Mock: the Pulumi CLI (tests/engine/fake_pulumi.py), answering as the pinned release."""

from __future__ import annotations

import json
from pathlib import Path

from pulumi.automation._minimum_version import _MINIMUM_VERSION  # the SDK's own floor for the CLI
from semver import VersionInfo

from .conftest import deployed, scenario, step, urn_of

PINNED = (Path(__file__).resolve().parents[2] / ".pulumi-version").read_text().strip()


def test_the_pinned_cli_is_supported_by_the_automation_api():
    assert VersionInfo.parse(PINNED) >= _MINIMUM_VERSION


def test_the_engine_reports_through_the_pinned_cli(cli, workdir, fake_pulumi, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_PULUMI_VERSION", f"v{PINNED}")
    deployed(workdir, "bioconda")
    repo = urn_of(workdir, "bioconda", "repository:Repository", "bioconda-recipes")
    scenario(tmp_path, monkeypatch, {"bioconda": {"preview": [
        step("update", repo, old={"description": "a"}, new={"description": "b"}, diffs=["description"]),
    ]}})
    result = cli("preview", "--stack", "bioconda", "--format", "json", "--root", str(workdir))
    assert result.code == 2, result.err
    (stack,) = json.loads(result.out)["stacks"]
    assert stack["update"][0]["changes"] == [{"key": "description", "old": "a", "new": "b"}]
    preview = next(c["args"] for c in fake_pulumi() if c["args"][1:2] == ["preview"] or "preview" in c["args"][:2])
    assert any(a.startswith("tcp://") for a in preview)  # the gRPC transport of releases after v3.205
