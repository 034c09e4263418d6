"""The last drift report: ``condainfra drift``/``plan --format json`` output, per stack."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ... import jsondoc
from ...fetch import FetchPolicy
from ...inputfile import InputFileError, read_capped


@dataclass(frozen=True)
class StackDrift:
    stack: str
    creates: int
    updates: int
    deletes: int
    # logical names of the resources that drifted, to tell which feedstock they belong to
    names: tuple[str, ...]


@dataclass
class DriftReport:
    stacks: dict[str, StackDrift] = field(default_factory=dict)
    generated: float | None = None
    problems: list[str] = field(default_factory=list)


def load_drift(path: str, policy: FetchPolicy | None = None) -> DriftReport:
    """The report at ``path``, read under the fetch policy's "status" size limit and parsed with
    the depth limit: the file comes from a CI run's artifact, not from this deployment."""
    report = DriftReport()
    if not path:
        return report
    file = Path(path)
    limit = (policy or FetchPolicy()).limit("status").max_bytes
    if not file.exists():
        report.problems.append(f"{path}: no drift report yet")
        return report
    try:
        data = jsondoc.loads(read_capped(file, limit, path), path)
        report.generated = file.stat().st_mtime
    except (InputFileError, jsondoc.JsonDocumentError) as exc:
        report.problems.append(str(exc))
        return report
    except OSError as exc:
        report.problems.append(f"{path}: not a readable JSON report ({exc.strerror or exc})")
        return report
    stacks = data.get("stacks") if isinstance(data, dict) else None
    if not isinstance(stacks, list):
        report.problems.append(f"{path}: expected an object with a 'stacks' list")
        return report
    for i, entry in enumerate(stacks):
        if not isinstance(entry, dict) or not isinstance(entry.get("stack"), str):
            report.problems.append(f"{path}: stacks[{i}]: expected an object with 'stack'")
            continue
        counts, names = {}, []
        for action in ("create", "update", "delete"):
            items = entry.get(action, [])
            items = items if isinstance(items, list) else []
            counts[action] = len(items)
            names += [str(c.get("name"))[:200] for c in items if isinstance(c, dict) and c.get("name")]
        report.stacks[entry["stack"]] = StackDrift(entry["stack"], counts["create"], counts["update"], counts["delete"], tuple(names))
    return report
