"""What a plan compares against: the stacks as declared at a git ref, or a saved render."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from pathlib import Path

from ..compiler.resources import Resource
from ..errors import ConfigError, CondainfraError
from ..project import STACKS_DIR, Project
from .render import read_document
from .stackconfig import StackConfigs, read_configs

# Tried in this order for the default baseline; the message of a failure lists them.
_DEFAULT_BRANCHES = ("refs/remotes/origin/main", "refs/remotes/origin/master", "refs/heads/main", "refs/heads/master")


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise CondainfraError("git is not installed; pass --against FILE with a saved render instead") from None


def default_ref(root: Path) -> str:
    """The merge base of HEAD with the default branch: what a pull request would be reviewed against."""
    return default_base(root)[0]


def default_base(root: Path) -> tuple[str, str]:
    """default_ref, with the branch it is the merge base with (``origin/main``)."""
    candidates = []
    head = _git(root, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD")
    if head.returncode == 0:
        candidates.append(head.stdout.decode().strip())
    candidates += _DEFAULT_BRANCHES
    for candidate in candidates:
        base = _git(root, "merge-base", "HEAD", candidate)
        if base.returncode == 0:
            return base.stdout.decode().strip(), candidate.removeprefix("refs/remotes/").removeprefix("refs/heads/")
    # never HEAD: a branch compared with itself shows no changes, however many it holds
    tried = ", ".join(c.removeprefix("refs/remotes/").removeprefix("refs/heads/") for c in dict.fromkeys(candidates))
    raise CondainfraError(
        f"{root}: no default branch to plan against: none of {tried} has a merge base with HEAD. "
        "Name the baseline: --against REF (a branch, tag or commit, e.g. --against origin/main after "
        "`git fetch origin main`), --against FILE (a saved `condainfra render`), or --from-scratch"
    )


def is_file_baseline(against: str) -> bool:
    return against.endswith(".json") or Path(against).is_file()


def baseline_from_ref(root: Path, ref: str, project_name: str, like: Project | None = None) -> tuple[Project | None, StackConfigs]:
    """The project as declared at ``ref`` (None when it had no stacks yet) and its stack config files."""
    resolved = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if resolved.returncode != 0:
        raise CondainfraError(f"--against {ref}: not a git ref in {root}")
    commit = resolved.stdout.decode().strip()
    if _git(root, "cat-file", "-e", f"{commit}:{STACKS_DIR}").returncode != 0:
        return None, {}  # no stacks yet at that ref: everything is new
    archive = _git(root, "archive", "--format=tar", commit, STACKS_DIR, "Pulumi.yaml")
    if archive.returncode != 0:
        archive = _git(root, "archive", "--format=tar", commit, STACKS_DIR)
    if archive.returncode != 0:
        raise CondainfraError(f"--against {ref}: git archive failed: {archive.stderr.decode().strip()}")
    with tempfile.TemporaryDirectory(prefix="condainfra-baseline-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        base_root = Path(tmp)
        if not (base_root / "Pulumi.yaml").is_file():
            (base_root / "Pulumi.yaml").write_text(f"name: {project_name}\n")
        try:
            project = Project.load(base_root, like=like)
            configs = read_configs(base_root / STACKS_DIR, project_name)
        except ConfigError as exc:
            raise CondainfraError(f"--against {ref}: the configuration at that ref does not load:\n{exc}") from None
        project.name = project_name
        project.root = root
        return project, configs


class Baseline:
    """The state a plan compares against, compiled lazily stack by stack."""

    def __init__(self, label: str, project: Project | None = None, rendered: dict[str, list[Resource]] | None = None,
                 configs: StackConfigs | None = None):
        self.label = label
        self.project = project
        self.rendered = rendered or {}
        # the stack config files at the baseline; None when it cannot say (a saved render holds none)
        self.configs = configs
        self._specs = {s.name: s for s in project.stacks()} if project else {}

    def stack_names(self) -> list[str]:
        return list(self._specs) if self.project else list(self.rendered)

    def resources(self, name: str, current: Project, compiled: dict[str, list[Resource]]) -> list[Resource]:
        if self.project is None:
            return self.rendered.get(name, [])
        spec = self._specs.get(name)
        if spec is None:
            return []
        if name in compiled:
            try:
                unchanged = self.project.fingerprint(spec) == current.fingerprint(current.stack(name))
            except CondainfraError:
                unchanged = False
            if unchanged:
                return compiled[name]
        return self.project.compile(spec, like=current)


def load_baseline(root: Path, against: str | None, project_name: str, current: Project | None = None) -> Baseline:
    if against is not None and is_file_baseline(against):
        path = Path(against)
        return Baseline(str(path), rendered=read_document(path))
    if against is None:  # a bare commit hash says nothing to a reader: name the branch and the commit's subject
        ref, branch = default_base(root)
        line = _git(root, "log", "-1", "--format=%h: %s", ref).stdout.decode(errors="replace").strip()
        label = f"{branch} (merge base {line[:80]})" if line else branch
    else:
        ref = label = against
    project, configs = baseline_from_ref(root, ref, project_name, current)
    return Baseline(label, project=project, configs=configs)
