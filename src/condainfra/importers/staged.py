"""Moving an import's files into place: staged beside the org, checked, then all moved or none.

The import writes only into the checkout's own folders (``stacks/<org>/``, ``feedstocks/``): a folder
that is, or is reached through, a link is refused before anything is read from it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..config.loader import FEEDSTOCK_DIR, ORG_FILE, load_org
from ..errors import ConfigIssue, CondainfraError, display_path


def own_folder(folder: Path, root: Path) -> None:
    """Refuse a folder the import would write into that is, or is reached through, a link: its files
    would be read from and written to wherever the link points, outside the checkout."""
    real_root = root.resolve()
    if os.path.realpath(folder) != str(real_root / folder.relative_to(root)):
        raise CondainfraError(f"{display_path(folder, root)}: reached through a link; the import reads and writes only the checkout's own folders")



class Staged:
    """Files rendered into a folder beside the org, checked, then moved into place together.

    The stage is ``stacks/<org>/.import-*/<org>/`` holding a full copy of the org (so that the
    project's loader, which wants the folder named as the org, checks exactly what would be
    written); leaving the ``with`` block without :meth:`commit` removes it and changes nothing."""

    def __init__(self, org_dir: Path, root: Path):
        self.org_dir, self.root = org_dir, root
        self.changed: dict[str, str] = {}  # path relative to the org folder -> text

    def __enter__(self) -> Staged:
        # beside the files it replaces (same file system, so the moves are renames); a new org's
        # folder is made only at commit
        own_folder(self.org_dir / FEEDSTOCK_DIR, self.root)
        beside = self.org_dir if self.org_dir.is_dir() else self.org_dir.parent
        if not beside.is_dir():
            raise CondainfraError(f"{display_path(beside, self.root)}: folder does not exist")
        self._tmp = Path(tempfile.mkdtemp(prefix=".import-", dir=beside))
        self.stage = self._tmp / self.org_dir.name
        (self.stage / FEEDSTOCK_DIR).mkdir(parents=True)
        return self

    def __exit__(self, *exc: Any) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def put(self, relative: str, text: str | None) -> None:
        """``text`` None: the file goes."""
        self.changed[relative] = text

    def check(self) -> list[ConfigIssue]:
        """Write the whole org into the stage and load it as `validate` would: the problems found,
        with the paths they will have once written."""
        for relative, text in self.changed.items():
            if text is not None:
                (self.stage / relative).write_text(text, encoding="utf-8")
        sources = [self.org_dir / ORG_FILE, *sorted((self.org_dir / FEEDSTOCK_DIR).glob("*.yaml"))]
        for source in sources:
            relative = source.relative_to(self.org_dir).as_posix()
            if relative not in self.changed and source.is_file():
                shutil.copyfile(source, self.stage / relative)
        if not (self.stage / ORG_FILE).is_file():
            raise CondainfraError(f"{display_path(self.org_dir / ORG_FILE, self.root)}: not found; declare the org first (or run `condainfra import github`)")
        _, issues = load_org(self.stage, self.root)
        staged, real = display_path(self.stage, self.root), display_path(self.org_dir, self.root)
        return [ConfigIssue(i.path.replace(staged, real, 1), i.line, i.message.replace(staged, real)) for i in issues]

    def commit(self, on_file: Callable[[str], None] = lambda _: None) -> None:
        """Move the files into place (after :meth:`check`, which writes them into the stage, or
        without it: a caller that validates the whole project itself next), all or none: each file
        replaced is first linked into the stage, and a move that fails puts back every one before it."""
        for relative, text in self.changed.items():
            if text is not None and not (self.stage / relative).is_file():
                (self.stage / relative).write_text(text, encoding="utf-8")
        made = [d for d in (self.org_dir, self.org_dir / FEEDSTOCK_DIR) if not d.is_dir()]
        kept = self._tmp / "replaced"
        (kept / FEEDSTOCK_DIR).mkdir(parents=True)
        done: list[tuple[Path, Path | None]] = []  # (target, its former file in the stage; None: it was new)
        target = self.org_dir
        try:
            for target in made:
                target.mkdir()
            for relative in sorted(self.changed):
                target, former = self.org_dir / relative, kept / relative
                if target.exists():
                    _keep(target, former, removed=self.changed[relative] is None)
                elif self.changed[relative] is None:
                    continue
                else:
                    former = None
                if self.changed[relative] is not None:
                    os.replace(self.stage / relative, target)
                done.append((target, former))
        except OSError as exc:
            failed = f"{display_path(target, self.root)}: cannot write: {exc.strerror or exc}"
            raise CondainfraError(failed + _put_back(done, made, self.root)) from None
        for relative in sorted(self.changed):
            on_file(relative)


def _keep(target: Path, former: Path, removed: bool) -> None:
    """The file ``target`` held, kept at ``former`` (in the stage) until every move has succeeded: moved
    there when the import removes it, else linked (the target stays in place until it is replaced)."""
    if removed:
        os.replace(target, former)
        return
    try:
        os.link(target, former, follow_symlinks=False)
    except OSError:  # a file system without hard links
        shutil.copy2(target, former, follow_symlinks=False)


def _put_back(done: list[tuple[Path, Path | None]], made: list[Path], root: Path) -> str:
    """Every file moved so far as it was, every folder made removed: what to add to the error."""
    lost = []
    for target, former in reversed(done):
        try:
            if former is None:
                target.unlink(missing_ok=True)
            else:
                os.replace(former, target)
        except OSError as exc:
            lost.append(f"{display_path(target, root)} ({exc.strerror or exc})")
    for folder in reversed(made):
        with contextlib.suppress(OSError):
            folder.rmdir()
    if lost:
        return f"; could not put back: {', '.join(lost)}"
    return "; nothing was written"
