"""The extra layers of a package manifest: its ``info/`` folder (tar+gzip) and ``info/index.json``.

Packages are read with conda-package-streaming, which handles both formats.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

from conda_package_streaming.package_streaming import stream_conda_info


class PackageError(Exception):
    """A package file that cannot be read as a conda package."""


def info_layers(path: Path, filename: str | None = None) -> tuple[bytes, bytes]:
    """(info folder as a deterministic tar.gz, the bytes of info/index.json).

    ``filename`` is the package's own file name when ``path`` has another one: a ``.conda`` names its
    inner archives after it."""
    buffer = io.BytesIO()
    index: bytes | None = None
    try:
        with open(path, "rb") as handle, gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as out:
                for tar, member in stream_conda_info(filename or path.name, handle):
                    if not member.name.startswith("info/"):
                        continue
                    data = tar.extractfile(member) if member.isfile() else None
                    content = data.read() if data else None
                    if member.name == "info/index.json" and content is not None:
                        index = content
                    copy = tarfile.TarInfo(member.name)
                    copy.type, copy.mode, copy.mtime, copy.linkname = member.type, member.mode, member.mtime, member.linkname
                    copy.size = len(content) if content is not None else 0
                    out.addfile(copy, io.BytesIO(content) if content is not None else None)
    except Exception as exc:  # noqa: BLE001  bytes from upstream: whatever the readers raise on them, it is this package's fault
        raise PackageError(f"not a readable conda package ({type(exc).__name__}: {exc})") from None
    if index is None:
        raise PackageError("not a conda package: it has no info/index.json")
    return buffer.getvalue(), index
