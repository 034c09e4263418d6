"""Writing results: whole files or nothing, so an interrupted run never leaves half a plan behind.

Only a regular file, or a path where nothing stands yet, is written atomically (a temporary file
beside it, then a rename): a rename onto ``/dev/null`` or a FIFO would put a regular file in the
device's place. Anything else that can be written (a device, a FIFO, a terminal) is written through,
as a shell's ``>`` would; a folder is refused. A link is followed to what it names, never replaced
by the file. Every failure is one message naming the path, never a traceback.
"""

from __future__ import annotations

import os
import stat
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


def _cannot(path: Path, exc: OSError) -> CondainfraError:
    return CondainfraError(f"{path}: cannot write: {exc.strerror or exc}")


def write_atomic(path: Path, text: str) -> None:
    shown = Path(path)
    target = Path(os.path.realpath(shown))  # through every link, to the place that is written
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:  # a parent that is a file, a folder that may not be searched
        raise _cannot(shown, exc) from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise CondainfraError(f"{shown}: is a folder; name a file to write")
    if info is not None and not stat.S_ISREG(info.st_mode):
        _write_through(shown, target, text)
        return
    folder = target.parent
    if not folder.is_dir():
        raise CondainfraError(f"{shown}: folder {shown.parent} does not exist")
    # a new file is shared as any file the user writes would be; a replaced one keeps its permissions
    mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
    except OSError as exc:
        raise _cannot(shown, exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _cannot(shown, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_through(shown: Path, target: Path, text: str) -> None:
    """A device, FIFO or socket: written in place (opened without O_CREAT, so nothing new is made)."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CLOEXEC | os.O_NOCTTY)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise _cannot(shown, exc) from None
