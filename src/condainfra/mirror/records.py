"""Repodata as the mirror holds it in memory: lean, so that a 500,000-entry subdir fits in a few hundred MB.

A document is split once into raw per-record slices (``msgspec.Raw``: views into the document's own bytes,
no copy). Records are published as upstream wrote them, byte for byte; only the fields the sync decides
on (name, version, build, sha256, size, md5) are decoded, one record at a time, and kept only for the
few records that are to be pushed. Of the mirror's own repodata, only each file's sha256 is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

import msgspec

from ..errors import CondainfraError

PACKAGE_KEYS = ("packages", "packages.conda")
SHA256 = re.compile(r"[0-9a-f]{64}")


class RepodataError(CondainfraError):
    """A repodata document that is not one; the message names where it came from."""


class Lean(msgspec.Struct, frozen=True, gc=False):
    """What the sync, verify and serve read of a record; every other field stays in the raw slice."""

    name: str
    version: str
    build: str
    sha256: str | None = None
    size: int | None = None
    md5: str | None = None


class _Sha(msgspec.Struct, gc=False):
    sha256: str | None = None


_LEAN = msgspec.json.Decoder(Lean)
_SHA = msgspec.json.Decoder(_Sha)
_TOP = msgspec.json.Decoder(dict[str, msgspec.Raw])


@dataclass
class Repodata:
    """One subdir's document: its top-level keys other than the package maps, and each map's records, raw."""

    top: dict[str, msgspec.Raw] = field(default_factory=dict)
    records: dict[str, dict[str, msgspec.Raw]] = field(default_factory=lambda: {k: {} for k in PACKAGE_KEYS})

    def items(self) -> Iterator[tuple[str, str, msgspec.Raw]]:
        """(key, filename, raw record) of every entry."""
        for key in PACKAGE_KEYS:
            for filename, raw in self.records[key].items():
                yield key, filename, raw

    def __len__(self) -> int:
        return sum(len(r) for r in self.records.values())

    def raw(self, filename: str) -> msgspec.Raw | None:
        return self.records[key_of(filename)].get(filename)


def parse(data: bytes | memoryview, where: str) -> Repodata:
    """Split a repodata document; :class:`RepodataError` naming ``where`` when it is not one."""
    try:
        top = _TOP.decode(data)
        out = Repodata({k: v for k, v in top.items() if k not in PACKAGE_KEYS})
        for key in PACKAGE_KEYS:
            if key in top:
                out.records[key] = _TOP.decode(top[key])
    except RecursionError:
        raise RepodataError(f"{where}: not valid repodata: nested too deep") from None
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        reason = str(exc).replace("`$`", "the document").replace("`$[...]`", "'packages'")
        raise RepodataError(f"{where}: not valid repodata: {reason[:200]}") from None
    return out


def lean(raw: msgspec.Raw) -> Lean | str:
    """The record's decided-on fields, or why it has none (a field of the wrong type, nesting too deep)."""
    try:
        return _LEAN.decode(raw)
    except RecursionError:
        return "its record is nested too deep"
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return f"its record is not valid ({str(exc)[:120]})"


def sha256_problem(record: Lean) -> str | None:
    """A record is pushed only with a sha256 to check the download against, and a size."""
    if not isinstance(record.sha256, str) or not SHA256.fullmatch(record.sha256):
        return "its record has no well-formed sha256 (64 lower-case hex digits)"
    if record.size is None or record.size < 0:
        return "its record has no size"
    return None


def mirror_files(data: bytes | memoryview, where: str) -> dict[str, bytes]:
    """filename -> sha256 (32 bytes) of the mirror's own published repodata; entries without one are left out."""
    doc = parse(data, where)
    out: dict[str, bytes] = {}
    for _, filename, raw in doc.items():
        try:
            sha = _SHA.decode(raw).sha256
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            continue
        if isinstance(sha, str) and SHA256.fullmatch(sha):
            out[filename] = bytes.fromhex(sha)
    return out


def lean_entries(data: bytes | memoryview, where: str) -> dict[str, Lean | None]:
    """filename -> its lean record (None when it has none) of a published repodata, for verify and serve."""
    doc = parse(data, where)
    out: dict[str, Lean | None] = {}
    for _, filename, raw in doc.items():
        record = lean(raw)
        out[filename] = record if isinstance(record, Lean) else None
    return out


def key_of(filename: str) -> str:
    return "packages.conda" if filename.endswith(".conda") else "packages"


def name_of(filename: str) -> str:
    """The package name of a conda file name (version and build never hold a '-')."""
    return filename.rsplit("-", 2)[0]


def sibling(filename: str) -> str:
    """The same build's file in the other format."""
    if filename.endswith(".conda"):
        return filename[: -len(".conda")] + ".tar.bz2"
    return filename[: -len(".tar.bz2")] + ".conda"
