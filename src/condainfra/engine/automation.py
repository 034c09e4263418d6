"""preview, up and drift through Pulumi's Automation API, guarded by the same rails as `plan`.

Each command selects (or creates) the stack in a LocalWorkspace rooted at the
project, so the Pulumi CLI runs the program named in Pulumi.yaml. Before
`preview` and `up`, the stack's current state is exported and diffed against
the compiled resources: the safety rails then judge what the engine is about
to do, not what git says.

Not exercised on the development machines (no Pulumi CLI there): a real
engine run. Contract tests drive this module against a recording fake
`pulumi` executable that answers as the CLI documents.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from typing import Any, Callable

from ..compiler.resources import Resource
from ..compiler.stacks import StackSpec
from ..errors import CondainfraError
from ..plan.diff import StackDiff, diff_stack
from ..plan.safety import Allowances, Rails, Refusal
from ..project import Project
from ..redact import redact

ROOT_STACK = "pulumi:pulumi:Stack"


@dataclass
class StackOutcome:
    stack: str
    changes: dict[str, int] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    error: str | None = None

    @property
    def changed(self) -> bool:
        return any(count for op, count in self.changes.items() if op != "same")


def _scrub(value: Any) -> Any:
    """State values with secrets replaced: exported state may carry them in plain text."""
    return redact(value, {"$secret": "state"})


def state_resources(deployment: dict[str, Any] | None) -> list[Resource]:
    """The resources of an exported Pulumi deployment (``pulumi stack export``), secrets scrubbed."""
    resources = []
    for item in (deployment or {}).get("resources", []) or []:
        if item.get("type") == ROOT_STACK or item.get("delete"):
            continue
        parent = item.get("parent") or None
        if parent and parent.split("::")[2] == ROOT_STACK:
            parent = None
        provider = item.get("provider")
        resources.append(
            Resource(
                urn=item["urn"],
                type=item["type"],
                name=item["urn"].rsplit("::", 1)[-1],
                parent=parent,
                inputs=_scrub(item.get("inputs", {})),
                dependencies=tuple(item.get("dependencies", [])),
                provider=provider.rsplit("::", 1)[0] if provider else None,
                protect=bool(item.get("protect", False)),
                custom=bool(item.get("custom", False)),
            )
        )
    return resources


class Engine:
    """Runs the Pulumi CLI for one project checkout."""

    def __init__(self, project: Project, on_output: Callable[[str], None] | None = None):
        self.project = project
        self.on_output = on_output or (lambda line: None)
        self.pulumi_command = shutil.which("pulumi")
        if not self.pulumi_command:
            raise CondainfraError(
                "the Pulumi CLI is not installed (needed by preview, up and drift); "
                "`condainfra plan` works without it"
            )

    def _stack(self, spec: StackSpec):
        from pulumi import automation as auto

        try:
            command = auto.PulumiCommand()  # `pulumi` from PATH
            workspace = auto.LocalWorkspace(work_dir=str(self.project.root), pulumi_command=command)
            return auto.Stack.create_or_select(spec.name, workspace)
        except auto.CommandError as exc:
            raise CondainfraError(f"stack {spec.name}: pulumi could not select the stack: {_last_line(exc)}") from None
        except (OSError, ValueError) as exc:
            raise CondainfraError(f"stack {spec.name}: cannot run {self.pulumi_command}: {exc}") from None

    def guard(self, spec: StackSpec, stack, allow: Allowances) -> tuple[StackDiff, list[Refusal]]:
        """Diff the compiled stack against its deployed state and apply the safety rails."""
        from pulumi import automation as auto

        try:
            deployed = state_resources(stack.export_stack().deployment)
        except auto.CommandError as exc:
            raise CondainfraError(f"stack {spec.name}: cannot read its state: {_last_line(exc)}") from None
        desired = self.project.compile(spec)
        diff = diff_stack(spec.name, deployed, desired)
        refusals = Rails(self.project, allow, {spec.name: desired}).judge(spec.name, spec.org, deployed, desired)
        return diff, refusals

    def preview(self, spec: StackSpec, allow: Allowances) -> StackOutcome:
        from pulumi import automation as auto

        stack = self._stack(spec)
        _, refusals = self.guard(spec, stack, allow)
        try:
            result = stack.preview(diff=True, color="never", on_output=self.on_output)
        except auto.CommandError as exc:
            return StackOutcome(spec.name, refusals=refusals, error=_last_line(exc))
        return StackOutcome(spec.name, dict(result.change_summary), refusals)

    def up(self, spec: StackSpec, allow: Allowances) -> StackOutcome:
        from pulumi import automation as auto

        stack = self._stack(spec)
        _, refusals = self.guard(spec, stack, allow)
        if refusals:
            return StackOutcome(spec.name, refusals=refusals)
        try:
            result = stack.up(color="never", on_output=self.on_output, show_secrets=False)
        except auto.CommandError as exc:
            return StackOutcome(spec.name, error=_last_line(exc))
        return StackOutcome(spec.name, dict(result.summary.resource_changes or {}))

    def drift(self, spec: StackSpec) -> StackOutcome:
        """What a refresh would change: the live org against the recorded state."""
        from pulumi import automation as auto

        stack = self._stack(spec)
        try:
            result = stack.preview_refresh(color="never", on_output=self.on_output)
        except auto.CommandError as exc:
            return StackOutcome(spec.name, error=_last_line(exc))
        return StackOutcome(spec.name, dict(result.change_summary))


def _last_line(exc: Exception) -> str:
    """The CLI's own last word: a CommandError's text is the whole result, code and stdout included."""
    text = str(exc)
    if "stderr:" in text:
        text = text.split("stderr:", 1)[1]
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(exc).__name__
