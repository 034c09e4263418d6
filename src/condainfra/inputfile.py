"""Reading a local file that came from elsewhere (a config file a pull request edits, an import's
source): refused by its size before it is read, and never a wait on something that is not a file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import CondainfraError


class InputFileError(CondainfraError):
    """A file that cannot be read as input; ``reason`` is the message without the file's name."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.reason = reason


def _mib(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MiB"


def read_capped(path: Path | str, limit: int, source: str | None = None) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    The size is checked before the file is read, and never more than ``limit`` + 1 bytes are read
    (a file that grows meanwhile). A FIFO, a device or a folder is refused: opening is non-blocking,
    so a FIFO without a writer does not hang the run."""
    shown = str(path) if source is None else source
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InputFileError(shown, f"cannot read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(shown, "not a regular file")
        if info.st_size > limit:
            raise InputFileError(shown, f"{info.st_size:,} bytes, more than the {_mib(limit)} such a file may hold")
        try:
            raw = handle.read(limit + 1)
        except OSError as exc:
            raise InputFileError(shown, f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise InputFileError(shown, f"more than the {_mib(limit)} such a file may hold")
    return raw
