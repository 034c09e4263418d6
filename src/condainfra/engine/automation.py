"""preview, up and drift through Pulumi's Automation API, guarded by the same rails as `plan`.

Each stack gets its own LocalWorkspace rooted at the project, so the Pulumi CLI runs the program
named in Pulumi.yaml with the stack's config from stacks/Pulumi.<stack>.yaml. Before `preview`
and `up`, the stack's current state is exported and diffed against the compiled resources: the
safety rails then judge what the engine is about to do, not what git says. The report is built
from the engine's own events (engine/events.py), never from its text output.

Only `up` and `init` create a stack; `preview`, `drift`, `outputs` and `secrets` select an
existing one, so a typo in a stack name is an error, not a new empty stack.

Not exercised on the development machines (no Pulumi CLI there): a real engine run. Contract
tests drive this module against a recording fake `pulumi` executable that answers as the CLI
documents (docs/operations.md says what they do not cover).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..compiler.resources import Resource
from ..compiler.stacks import StackSpec
from ..errors import CondainfraError
from ..plan.diff import MASK, ResourceChange, StackDiff, diff_stack
from ..plan.safety import Allowances, Rails, Refusal
from ..project import Project
from ..redact import CREDENTIAL_VARS, STATE_SECRET, Scrubber, env_sources, redact
from . import applied
from .backend import Backend, needs_passphrase, passphrase_env, passphrase_given, secret_names
from .events import ROOT_STACK, EventCollector

KINDS = ("preview", "up", "drift")


@dataclass
class StackRun:
    """One stack's part of a run: its report (steps, error, diagnostics) and the rails' refusals."""

    diff: StackDiff
    refusals: list[Refusal] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.refusals or self.diff.error)


def _scrub(value: Any) -> Any:
    """State values with secrets replaced: exported state may carry them in plain text."""
    return redact(value, STATE_SECRET)


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
                retain_on_delete=bool(item.get("retainOnDelete", False)),
            )
        )
    return resources


class Engine:
    """Runs the Pulumi CLI for one project checkout against one backend; safe to share between threads."""

    def __init__(self, project: Project, backend: Backend):
        self.project = project
        self.backend = backend
        self.pulumi_command = shutil.which("pulumi")
        if not self.pulumi_command:
            raise CondainfraError(
                "the Pulumi CLI is not installed (needed by preview, up, drift, init, outputs and secrets); "
                "`condainfra plan` works without it"
            )
        backend.ensure()
        self.env = {"PULUMI_BACKEND_URL": backend.url}
        # the one scrubber (redact.py) of everything the engine says: each run adds its stack's secrets
        self.scrubber = Scrubber(urls=[backend.url])
        self.scrubber.know_environment(CREDENTIAL_VARS)
        self._command = None
        self._lock = threading.Lock()
        self._unlocked = False
        self.force = False  # up: apply a stack whose compiled state is what it was last applied with, too
        # up --adopt: (stack, import file) -> a notice; drops the IDs GitHub does not have (orgstate.adoptcheck)
        self.check_import: Callable[[StackSpec, Any], str | None] | None = None

    def unlock_secrets(self, stacks: list[str], existing_only: bool = False) -> None:
        """Ask for the passphrase once, before any stack runs, if one of ``stacks`` needs it. With
        ``existing_only`` (commands that never create a stack), a missing stack is said before asking."""
        if not self._unlocked and needs_passphrase(self.project, stacks, self.backend):
            if existing_only and not passphrase_given():
                self.require_existing(stacks)
            self.env.update(passphrase_env())
            self.scrubber.know_environment(CREDENTIAL_VARS, self.env)
        self._unlocked = True

    # -- workspaces and stacks ------------------------------------------------------------------------

    def _pulumi(self):
        from pulumi import automation as auto

        with self._lock:  # one `pulumi version` per run, not one per stack
            if self._command is None:
                try:
                    self._command = auto.PulumiCommand()  # `pulumi` from PATH
                except (OSError, ValueError, auto.CommandError) as exc:
                    raise CondainfraError(f"cannot run {self.pulumi_command}: {self._clean(exc)}") from None
            return self._command

    def _workspace(self):
        from pulumi import automation as auto

        return auto.LocalWorkspace(
            work_dir=str(self.project.root),
            pulumi_command=self._pulumi(),
            env_vars=dict(self.env),
            secrets_provider=self.backend.secrets_provider,
        )

    def stack(self, name: str, create: bool = False):
        """The stack, selected; created only when ``create`` (up and init)."""
        from pulumi import automation as auto

        workspace = self._workspace()
        try:
            if create:
                return auto.Stack.create_or_select(name, workspace)
            return auto.Stack.select(name, workspace)
        except auto.StackNotFoundError:
            raise self._not_found(name) from None
        except auto.CommandError as exc:
            raise CondainfraError(f"stack {name}: pulumi could not select the stack: {self._clean(exc)}") from None

    def _not_found(self, name: str) -> CondainfraError:
        return CondainfraError(
            f"stack {name} does not exist in {self.backend.shown}: "
            f"run `condainfra init --stack {name}` or `condainfra up --stack {name}` first"
        )

    def require_existing(self, names: list[str]) -> None:
        """For the commands that never create a stack: a missing one is said before a passphrase is asked
        for (one `pulumi stack ls`, which decrypts nothing)."""
        from pulumi import automation as auto

        try:
            # the project's stacks only; a backend may qualify the name (organization/project/stack)
            existing = {summary.name.rsplit("/", 1)[-1] for summary in self._workspace().list_stacks()}
        except auto.CommandError as exc:
            raise CondainfraError(f"pulumi could not list the stacks in {self.backend.shown}: {self._clean(exc)}") from None
        for name in names:
            if name not in existing:
                raise self._not_found(name)

    def _clean(self, exc: Exception, scrub: Scrubber | None = None) -> str:
        return (scrub or self.scrubber).text(_last_line(exc))

    def _scrubber_for(self, spec: StackSpec, compiled: dict[str, list[Resource]]) -> Scrubber:
        """The engine's scrubber plus the values of the ``env:`` secrets this stack's resources read."""
        scrub = self.scrubber.copy()
        resources = compiled[spec.name] if spec.name in compiled else self.project.compile(spec)
        scrub.know_environment(sorted({name for r in resources for name in env_sources(r.inputs)}))
        return scrub

    def _know_config_secrets(self, spec: StackSpec, stack, scrub: Scrubber) -> None:
        """A stack whose config file holds secrets: their decrypted values, so that an engine message
        quoting one is scrubbed (one `pulumi config --show-secrets`, only for such stacks)."""
        from pulumi import automation as auto

        if not secret_names(self.project, spec.name):
            return
        try:
            values = stack.get_all_config()
        except auto.CommandError as exc:
            raise CondainfraError(f"stack {spec.name}: cannot read its config: {self._clean(exc, scrub)}") from None
        for value in values.values():
            if value.secret:
                scrub.know(value.value)

    # -- the rails ------------------------------------------------------------------------------------

    def guard(self, spec: StackSpec, stack, allow: Allowances, compiled: dict[str, list[Resource]]) -> tuple[StackDiff, list[Refusal], list[Resource]]:
        """Diff the compiled stack against its deployed state and apply the safety rails."""
        from pulumi import automation as auto

        try:
            deployed = state_resources(stack.export_stack().deployment)
        except auto.CommandError as exc:
            raise CondainfraError(f"stack {spec.name}: cannot read its state: {self._clean(exc)}") from None
        desired = compiled[spec.name] if spec.name in compiled else self.project.compile(spec)
        diff = diff_stack(spec.name, deployed, desired)
        diff.mission = spec.mission
        refusals = Rails(self.project, allow, compiled).judge(spec.name, spec.org, deployed, desired)
        return diff, refusals, deployed

    # -- one stack ------------------------------------------------------------------------------------

    def run(
        self,
        kind: str,
        spec: StackSpec,
        allow: Allowances,
        compiled: dict[str, list[Resource]] | None = None,
        on_step: Callable[[str], None] | None = None,
        adopt: bool = False,
    ) -> StackRun:
        """preview, up or drift of one stack; an engine failure is the stack's error, not an exception."""
        from pulumi import automation as auto

        compiled = compiled if compiled is not None else {}
        scrub = self._scrubber_for(spec, compiled)
        events = EventCollector(spec.name, spec.mission, kind, on_step, scrub)
        refusals: list[Refusal] = []
        notices: list[str] = []
        imported: list[ResourceChange] = []  # `pulumi import` runs without an event log: its steps come from the file
        try:
            stack = self.stack(spec.name, create=kind == "up")
            self._know_config_secrets(spec, stack, scrub)
            if kind == "drift":
                stack.preview_refresh(color="never", on_event=events)
            else:
                planned, refusals, deployed = self.guard(spec, stack, allow, compiled)
                if kind == "up" and deployed and not self.force and applied.recorded(stack) == applied.digest(compiled.get(spec.name) or self.project.compile(spec)):
                    return StackRun(StackDiff(spec.name, mission=spec.mission), notices=[f"{spec.name}: compiled state unchanged since its last apply: not applied (--force applies it)"])
                if kind == "up" and refusals:
                    return StackRun(planned, refusals)  # not touched: the report shows what it would have done
                if kind == "preview":
                    stack.preview(diff=True, color="never", on_event=events)
                else:
                    if adopt:
                        notice, imported = self._adopt(spec, stack, deployed)
                        notices.append(notice)
                    stack.up(color="never", on_event=events, show_secrets=False)
                    notices += filter(None, [applied.record(stack, applied.digest(compiled.get(spec.name) or self.project.compile(spec)), self.project.root)])
        except CondainfraError as exc:
            return StackRun(events.diff(error=scrub.text(str(exc))))
        except auto.CommandError as exc:
            return StackRun(events.diff(error=self._clean(exc, scrub)), refusals)
        result = StackRun(events.diff(), refusals, notices)
        for change in imported:
            result.diff.add(change)
        return result

    def _adopt(self, spec: StackSpec, stack, deployed: list[Resource]) -> tuple[str, list[ResourceChange]]:
        """Import every compiled resource that already exists upstream, before the stack's first apply.

        `pulumi import --file` is run directly: the SDK's import_resources rewrites the file from its
        ``resources`` and ``nameTable`` only, and would drop the explicit providers' configuration.
        Returns the notice and one `import` step per resource imported, for the report."""
        from ..plan.adopt import build_import_file

        if deployed:
            return f"{spec.name}: --adopt skipped, the stack already has {len(deployed)} resource(s) in its state", []
        built = build_import_file(self.project, spec)
        checked = self.check_import(spec, built) if self.check_import is not None else None
        with tempfile.TemporaryDirectory(prefix="condainfra-adopt-") as folder:
            path = Path(folder) / f"{spec.name}.import.json"
            built.write(path)
            # the program decides `protect` on the next up; the CLI's default (protect all) would diff
            self._cli(spec, ["import", "--file", str(path), "--yes", "--skip-preview", "--protect=false", "--generate-code=false"],
                      f"the import of {built.imported} resource(s) failed")
        steps = [ResourceChange("import", r) for r in built.taken]
        return f"{spec.name}: imported {built.imported} existing resource(s) before the first apply" + (f"; {checked}" if checked else ""), steps

    def _cli(self, spec: StackSpec, args: list[str], failure: str, stdin: str | None = None) -> None:
        """One Pulumi CLI command on the stack, with the workspace's command and environment.

        For what the SDK cannot say: a value on standard input, a whole import file. ``stdin`` never
        appears in a message."""
        command = self._pulumi()
        argv = [command.command, "--non-interactive", *args, "--stack", spec.name]
        env = {**os.environ, **self.env, "PULUMI_AUTOMATION_API": "true"}
        try:
            done = subprocess.run(argv, input=stdin or "", cwd=self.project.root, env=env, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise CondainfraError(f"cannot run {command.command}: {exc.strerror or exc}") from None
        if done.returncode != 0:
            text = done.stderr.replace(stdin, MASK) if stdin else done.stderr
            raise CondainfraError(f"stack {spec.name}: {failure}: {self.scrubber.text(_last_line(text))}")

    # -- stack management -----------------------------------------------------------------------------

    def init(self, spec: StackSpec) -> bool:
        """Create the stack (with the backend's secrets provider); False if it existed already."""
        from pulumi import automation as auto

        workspace = self._workspace()
        try:
            auto.Stack.create(spec.name, workspace)
        except auto.StackAlreadyExistsError:
            return False
        except auto.CommandError as exc:
            raise CondainfraError(f"stack {spec.name}: pulumi could not create the stack: {self._clean(exc)}") from None
        return True

    def set_secret(self, spec: StackSpec, name: str, value: str) -> None:
        """`pulumi config set NAME --secret` with the value on the CLI's standard input.

        The SDK's Stack.set_config passes the value as an argument (visible in the process table
        and in audit logs); the CLI reads the value from stdin when none is given."""
        self.stack(spec.name)  # an existing stack only, with the usual message if it is missing
        self._cli(spec, ["config", "set", name, "--secret"], f"pulumi could not set {name}", stdin=value)

    def outputs(self, spec: StackSpec, show_secrets: bool = False) -> dict[str, Any]:
        from pulumi import automation as auto

        stack = self.stack(spec.name)
        try:
            values = stack.outputs()
        except auto.CommandError as exc:
            raise CondainfraError(f"stack {spec.name}: cannot read its outputs: {self._clean(exc)}") from None
        return {key: (out.value if show_secrets or not out.secret else MASK) for key, out in sorted(values.items())}


def _last_line(exc: Exception | str) -> str:
    """The CLI's own last word: a CommandError's text is the whole result, code and stdout included."""
    text = str(exc)
    if "stderr:" in text:
        text = text.split("stderr:", 1)[1]
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "the command failed without a message"
