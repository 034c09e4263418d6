"""The engine's own events (`on_event`) turned into the report model, one StackDiff per stack.

The engine reports each resource step twice in an update (a pre event, then its outputs) and
a replacement as up to three steps (create-replacement, replace, delete-replaced); a reviewer
reads one line per resource, so steps are keyed by URN and the last word on each wins.
Values are masked as they arrive: the report model never holds secret material.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Callable

from ..compiler.resources import Resource
from ..plan.diff import Change, ResourceChange, StackDiff, mask

ROOT_STACK = "pulumi:pulumi:Stack"

# Engine ops as a reviewer reads them; the ops left out (same, read, discard, ...) change nothing.
_ACTION = {
    "create": "create",
    "update": "update",
    "delete": "delete",
    "import": "import",
    "replace": "replace",
    "create-replacement": "replace",
    "delete-replaced": "replace",
    "import-replacement": "replace",
}
# A refresh reports each resource it read; those that differ from the recorded state drifted.
_REFRESH_OPS = ("refresh", "update", "delete")

# Pulumi's colour directives, in case a message carries them despite color=never
_COLOR = re.compile(r"<\{%[^%]*%\}>")


class EventCollector:
    """Collects one stack's events, from the Automation API's log-watcher thread.

    ``kind`` is "preview", "up" or "drift"; ``on_step`` is told each resource the engine reached
    (the progress display), ``scrub`` is the run's redact.Scrubber (or any text cleaner): every message,
    and every string value of a step, passes through it."""

    def __init__(self, stack: str, mission: str, kind: str, on_step: Callable[[str], None] | None = None, scrub: Callable[[str], str] | None = None):
        self.stack = stack
        self.mission = mission
        self.kind = kind
        self.on_step = on_step or (lambda urn: None)
        self.scrub = scrub or (lambda text: text)
        # values: secret markers masked, then, with a Scrubber, every string cleaned of known secret values
        self._clean = getattr(scrub, "value", None) or mask
        self._lock = threading.Lock()
        self._steps: dict[str, ResourceChange] = {}
        self._failed: list[str] = []
        self.diagnostics: list[str] = []  # warnings, shown with the report
        self.errors: list[str] = []  # the engine's own words on why the run failed
        self.summary: dict[str, int] | None = None

    def __call__(self, event: Any) -> None:
        with self._lock:
            if event.resource_pre_event is not None:
                self._step(event.resource_pre_event.metadata)
            elif event.res_outputs_event is not None:
                self._step(event.res_outputs_event.metadata)
            elif event.res_op_failed_event is not None:
                self._failed.append(event.res_op_failed_event.metadata.urn)
            elif event.diagnostic_event is not None:
                self._diagnostic(event.diagnostic_event)
            elif event.summary_event is not None:
                self.summary = dict(event.summary_event.resource_changes or {})

    def _step(self, meta: Any) -> None:
        if meta.type == ROOT_STACK:
            return
        self.on_step(meta.urn)
        op = getattr(meta.op, "value", meta.op)
        change = self._drift(meta) if self.kind == "drift" and op in _REFRESH_OPS else self._change(meta, op)
        if change is None:
            return
        previous = self._steps.get(meta.urn)
        if previous is not None and previous.action == "replace" and change.action == "replace":
            # the replace step carries the reasons; create-replacement / delete-replaced may not
            change.replace_reasons = change.replace_reasons or previous.replace_reasons
            change.changes = change.changes or previous.changes
        self._steps[meta.urn] = change

    def _change(self, meta: Any, op: str) -> ResourceChange | None:
        action = _ACTION.get(op)
        if action is None:
            return None
        state = meta.new if action != "delete" else meta.old
        resource = _resource(meta, state, self._clean)
        if action == "delete" and getattr(meta.old, "retain_on_delete", False):
            # retained: the engine forgets it, GitHub keeps what it holds (a team's members)
            return ResourceChange("release", resource)
        if action in ("create", "import", "delete"):
            return ResourceChange(action, resource)
        keys = _changed_keys(meta, _inputs(meta.old), _inputs(meta.new))
        changes = [Change(k, self._clean(mask(_inputs(meta.old).get(k))), self._clean(mask(_inputs(meta.new).get(k)))) for k in keys]
        reasons = _replace_reasons(meta) if action == "replace" else []
        # an alias at work (a `previously:` rename): the engine updates the old URN's resource in place
        old_urn = getattr(meta.old, "urn", None)
        return ResourceChange(action, resource, changes, reasons, renamed_from=old_urn if old_urn and old_urn != meta.urn else None)

    def _drift(self, meta: Any) -> ResourceChange | None:
        """A refresh step: the live resource against the recorded one; nothing to say if they agree."""
        old, new = _outputs(meta.old), _outputs(meta.new)
        if meta.old is not None and meta.new is None:
            return ResourceChange("drift", _resource(meta, meta.old, self._clean), [Change("(exists)", True, False)])
        keys = _changed_keys(meta, old, new)
        if not keys:
            return None
        return ResourceChange("drift", _resource(meta, meta.new or meta.old, self._clean),
                              [Change(k, self._clean(mask(old.get(k))), self._clean(mask(new.get(k)))) for k in keys])

    def _diagnostic(self, diag: Any) -> None:
        if diag.severity not in ("warning", "error") or diag.ephemeral:
            return
        text = _COLOR.sub("", diag.message or "").strip()
        if text:
            where = f"{diag.urn.rsplit('::', 1)[-1]}: " if diag.urn else ""
            (self.errors if diag.severity == "error" else self.diagnostics).append(self.scrub(f"{where}{text}"))

    def diff(self, error: str | None = None) -> StackDiff:
        """The stack's report so far (a failed run still shows the steps the engine reached)."""
        with self._lock:
            if error is not None and self.errors:
                error = "; ".join(self.errors)
            if error is not None:
                error = self.scrub(error)  # the CLI's last stderr line only says that the update failed
            if error is not None and self._failed:
                error += f" (failed: {', '.join(urn.rsplit('::', 1)[-1] for urn in self._failed)})"
            result = StackDiff(self.stack, error=error, diagnostics=list(self.diagnostics), mission=self.mission)
            for change in self._steps.values():
                result.add(change)
            return result


def _inputs(state: Any) -> dict[str, Any]:
    return (state.inputs or {}) if state is not None else {}


def _outputs(state: Any) -> dict[str, Any]:
    return (state.outputs or {}) if state is not None else {}


def _top(path: str) -> str:
    """The top-level property of a detailed-diff path (``topics[0]``, ``security.advanced``)."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _changed_keys(meta: Any, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The keys the engine names as changed; when it names none, those whose values differ."""
    keys = list(meta.diffs or [])
    keys += [_top(path) for path in (meta.detailed_diff or {})]
    if not keys and meta.old is not None and meta.new is not None:
        keys = [k for k in old.keys() | new.keys() if old.get(k) != new.get(k)]
    return sorted(set(keys))


def _replace_reasons(meta: Any) -> list[str]:
    reasons = {_top(path) for path, d in (meta.detailed_diff or {}).items() if getattr(d.diff_kind, "value", d.diff_kind).endswith("-replace")}
    reasons.update(meta.keys or [])
    return sorted(reasons)


def _resource(meta: Any, state: Any, clean: Callable[[Any], Any] = mask) -> Resource:
    parent = (state.parent if state is not None else "") or None
    if parent and parent.split("::")[2] == ROOT_STACK:
        parent = None
    provider = meta.provider or (state.provider if state is not None else "") or None
    return Resource(
        urn=meta.urn,
        type=meta.type,
        name=meta.urn.rsplit("::", 1)[-1],
        parent=parent,
        inputs=clean(mask(_inputs(state))),
        provider=provider.rsplit("::", 1)[0] if provider else None,
        protect=bool(state.protect) if state is not None else False,
        custom=bool(state.custom) if state is not None and state.custom is not None else True,
    )
