"""Writing results: whole files or nothing, so an interrupted run never leaves half a plan behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import CondainfraError


def write_atomic(path: Path, text: str) -> None:
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CondainfraError(f"{path}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CondainfraError(f"{path}: cannot write: {exc.strerror or exc}") from None
