"""Fixtures for the engine's contract tests: the recording fake `pulumi` on PATH, stacks in the
checkout's own file backend, and engine-event scenarios in the JSON shape the CLI streams.

Mock: the Pulumi CLI and engine (tests/engine/fake_pulumi.py). The Automation API (which parses
the events and builds the argv), our engine modules, the compiler and the rails are all real.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from condainfra.project import Project

FAKE = Path(__file__).with_name("fake_pulumi.py")
PROJECT = "condainfra"
SECRET_SIG = "4dabf18193072939515e22adb298388d"


@pytest.fixture
def fake_pulumi(tmp_path, monkeypatch):
    """Puts the fake on PATH; returns a function listing its recorded calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "pulumi"
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE} \"$@\"\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "pulumi-calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test")
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.delenv("CI", raising=False)  # CI refuses the checkout's own backend (tested on its own)

    def calls(kind: str = "args") -> list[dict[str, Any]]:
        """The recorded calls ("args"), or the fake's other records: "imported" files, "finished" runs."""
        entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return [e for e in entries if kind in e]

    return calls


def stack_file(root: Path, stack: str) -> Path:
    """Where the file backend in .condainfra/state keeps a stack (Pulumi's project-scoped layout)."""
    return root / ".condainfra" / "state" / ".pulumi" / "stacks" / PROJECT / f"{stack}.json"


def root_urn(stack: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{stack}"


def deployed(root: Path, stack: str, mutate: Callable[[list[dict]], list[dict]] | None = None, outputs: dict | None = None) -> list[dict]:
    """The stack as a successful `up` of the compiled config leaves it, in the checkout's file backend."""
    project = Project.load(root)
    resources = [{"urn": root_urn(stack), "type": "pulumi:pulumi:Stack", "custom": False}]
    for r in project.compile(project.stack(stack)):
        item = {"urn": r.urn, "type": r.type, "custom": r.custom, "inputs": r.inputs, "parent": r.parent or resources[0]["urn"], "protect": r.protect}
        if r.provider:
            item["provider"] = f"{r.provider}::provider-id"
        if r.retain_on_delete:
            item["retainOnDelete"] = True
        resources.append(item)
    if mutate:
        resources = mutate(resources)
    path = stack_file(root, stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 3, "deployment": {"manifest": {}, "resources": resources}, "outputs": outputs or {}}))
    config = root / "stacks" / f"Pulumi.{stack}.yaml"
    if not config.exists():
        config.write_text("encryptionsalt: v1:ZmFrZXNhbHQ=:v1:fake:fake\n")
    return resources


def scenario(tmp_path: Path, monkeypatch, plan: dict[str, dict]) -> None:
    """Engine events per stack (or "*"): {"preview": [...], "up": [...], "refresh": [...], "outputs": {...}}."""
    path = tmp_path / "events.json"
    path.write_text(json.dumps(plan))
    monkeypatch.setenv("FAKE_PULUMI_EVENTS", str(path))


def state(inputs: dict | None = None, outputs: dict | None = None, type_: str = "", urn: str = "", parent: str = "") -> dict:
    return {"type": type_, "urn": urn, "id": "", "parent": parent, "provider": "", "custom": True, "delete": False,
            "protect": False, "inputs": inputs or {}, "outputs": outputs if outputs is not None else dict(inputs or {})}


def step(op: str, urn: str, old: dict | None = None, new: dict | None = None, diffs: list[str] | None = None,
         detailed: dict[str, str] | None = None, keys: list[str] | None = None, outputs: bool = False, old_urn: str | None = None) -> dict:
    """A resourcePreEvent (or resOutputsEvent) as the engine streams it; ``old_urn``: the URN the old
    state was recorded under (an alias at work)."""
    type_ = urn.split("::")[2].rsplit("$", 1)[-1]
    parent = root_urn(urn.split("::")[0].removeprefix("urn:pulumi:"))
    meta = {
        "op": op, "urn": urn, "type": type_, "provider": "",
        "old": state(old, type_=type_, urn=old_urn or urn, parent=parent) if old is not None else None,
        "new": state(new, type_=type_, urn=urn, parent=parent) if new is not None else None,
        "keys": keys, "diffs": diffs,
        "detailedDiff": {k: {"diffKind": v, "inputDiff": True} for k, v in (detailed or {}).items()} or None,
    }
    return {"resOutputsEvent" if outputs else "resourcePreEvent": {"metadata": meta, "planning": not outputs}}


def secret(value: str) -> dict:
    """A value with Pulumi's secret signature, as state and events carry it."""
    return {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "plaintext": json.dumps(value)}


def diagnostic(message: str, severity: str = "warning", urn: str = "") -> dict:
    return {"diagnosticEvent": {"message": message, "color": "never", "severity": severity, "urn": urn, "ephemeral": False}}


def failed(urn: str, op: str = "update") -> dict:
    return {"resOpFailedEvent": {"metadata": step(op, urn)["resourcePreEvent"]["metadata"], "status": 1, "steps": 0}}


def urn_of(root: Path, stack: str, type_suffix: str, name: str | None = None) -> str:
    """The URN of a compiled resource of the stack (its first of that type, or the one named)."""
    project = Project.load(root)
    for r in project.compile(project.stack(stack)):
        if r.type.endswith(type_suffix) and (name is None or r.name == name):
            return r.urn
    raise AssertionError(f"{stack} compiles no {type_suffix} {name or ''}")


def commands(calls: list[dict]) -> list[str]:
    out = []
    for call in calls:
        args = [a for a in call["args"] if a != "--non-interactive"]
        out.append(" ".join(args[:2]) if args[0] in ("stack", "config") else args[0])
    return out
