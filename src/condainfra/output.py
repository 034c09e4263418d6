"""Writing results: whole files or nothing, so an interrupted run never leaves half a plan behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import CondainfraError


def _umask() -> int:
    # Linux reports it without changing it; setting and restoring it would race with other threads
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, text: str) -> None:
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CondainfraError(f"{path}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            # mkstemp makes it 0600; a plan or render is shared as any file the user writes would be
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CondainfraError(f"{path}: cannot write: {exc.strerror or exc}") from None
