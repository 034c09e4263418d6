"""Bounded decompression: every decoder hands on at most ``CHUNK`` bytes at a time, so a bomb is
stopped by the size cap of the sink at the end of the chain before it can fill memory.

httpx's own decoders are not used: a zstd-encoded answer is decoded by them in one call per
network chunk, and one 64 KiB chunk can expand to gigabytes.
"""

from __future__ import annotations

import bz2
import hashlib
import zlib
from pathlib import Path
from typing import BinaryIO, Protocol

import zstandard

from .limits import FetchError, too_large

CHUNK = 1 << 16
FILE_FORMATS = {".zst": "zstd", ".bz2": "bz2", ".gz": "gzip"}


class Writer(Protocol):
    def write(self, data: bytes) -> object: ...


class Sink:
    """Where decoded bytes end: memory or a file; trips the cap as soon as it is passed."""

    def __init__(self, where: str, kind: str, max_bytes: int, path: Path | None = None, digest: bool = False, tripped=None):
        self.where, self.kind, self.max_bytes = where, kind, max_bytes
        self.size = 0
        self._buffer = bytearray()
        self._file: BinaryIO | None = open(path, "wb") if path is not None else None  # noqa: SIM115 (closed by close())
        self._digest = hashlib.sha256() if digest else None
        self._tripped = tripped  # a caller's own message for its own cap, e.g. repodata's size of an artifact

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise self._tripped() if self._tripped else too_large(self.where, self.kind, self.max_bytes)
        if self._digest is not None:
            self._digest.update(data)
        if self._file is not None:
            self._file.write(data)
        else:
            self._buffer += data
        return len(data)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    @property
    def body(self) -> bytes:
        return bytes(self._buffer)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest() if self._digest is not None else ""


class _Zlib:
    def __init__(self, out: Writer, wbits: int, where: str):
        self.out, self.wbits, self.where = out, wbits, where
        self._d = zlib.decompressobj(wbits)

    def write(self, data: bytes) -> None:
        try:
            while data:
                if self._d.eof:  # a gzip file may hold several members one after the other
                    self._d = zlib.decompressobj(self.wbits)
                piece = self._d.decompress(data, CHUNK)
                if piece:
                    self.out.write(piece)
                data = self._d.unused_data if self._d.eof else self._d.unconsumed_tail
        except zlib.error as exc:
            raise FetchError(f"{self.where}: not valid gzip/deflate data ({exc})") from None

    def finish(self) -> None:
        try:
            tail = self._d.flush(CHUNK)
        except zlib.error as exc:
            raise FetchError(f"{self.where}: not valid gzip/deflate data ({exc})") from None
        if tail:
            self.out.write(tail)
        if not self._d.eof:
            raise FetchError(f"{self.where}: the compressed data ends early")


class _Bz2:
    def __init__(self, out: Writer, where: str):
        self.out, self.where = out, where
        self._d = bz2.BZ2Decompressor()

    def write(self, data: bytes) -> None:
        try:
            while True:
                if self._d.eof:
                    if not data:
                        return
                    self._d = bz2.BZ2Decompressor()
                piece = self._d.decompress(data, CHUNK)
                data = self._d.unused_data if self._d.eof else b""
                if piece:
                    self.out.write(piece)
                if not self._d.eof and self._d.needs_input:
                    return
        except (OSError, ValueError) as exc:
            raise FetchError(f"{self.where}: not valid bzip2 data ({exc})") from None

    def finish(self) -> None:
        if not self._d.eof:
            raise FetchError(f"{self.where}: the compressed data ends early")


class _Zstd:
    def __init__(self, out: Writer, where: str):
        self.where = where
        self._w = zstandard.ZstdDecompressor().stream_writer(out, write_size=CHUNK, write_return_read=True, closefd=False)

    def write(self, data: bytes) -> None:
        try:
            self._w.write(data)
        except zstandard.ZstdError as exc:
            raise FetchError(f"{self.where}: not valid zstd data ({exc})") from None

    def finish(self) -> None:
        pass


class _Identity:
    def __init__(self, out: Writer):
        self.out = out

    def write(self, data: bytes) -> None:
        self.out.write(data)

    def finish(self) -> None:
        pass


def decoder(fmt: str, out: Writer, where: str):
    """A bounded decoder of ``fmt`` ('gzip', 'deflate', 'zstd', 'bz2' or 'identity') writing to ``out``."""
    if fmt in ("gzip", "x-gzip"):
        return _Zlib(out, 16 + zlib.MAX_WBITS, where)
    if fmt == "deflate":
        return _Zlib(out, zlib.MAX_WBITS, where)
    if fmt == "zstd":
        return _Zstd(out, where)
    if fmt == "bz2":
        return _Bz2(out, where)
    if fmt in ("identity", ""):
        return _Identity(out)
    raise FetchError(f"{where}: unsupported encoding {fmt[:40]!r}")


class Chain:
    """Decoders applied in order (the outermost encoding first), ending in ``sink``."""

    def __init__(self, sink: Writer, formats: list[str], where: str):
        self.stages = []
        out: Writer = sink
        for fmt in reversed(formats):
            stage = decoder(fmt, out, where)
            self.stages.insert(0, stage)
            out = stage
        self._head: Writer = out

    def write(self, data: bytes) -> None:
        self._head.write(data)

    def finish(self) -> None:
        for stage in self.stages:
            stage.finish()


def file_format(name: str) -> str | None:
    """The compression a file's name says it has ('zstd', 'bz2', 'gzip'), None for a plain file."""
    return next((fmt for suffix, fmt in FILE_FORMATS.items() if name.endswith(suffix)), None)


def read_file(path: Path, sink: Sink, fmt: str | None, where: str) -> None:
    """A local file through the decoder ``fmt`` (None: as is) into ``sink``; closes the sink."""
    chain = Chain(sink, [fmt] if fmt else [], where)
    try:
        with open(path, "rb") as handle:
            while data := handle.read(1 << 20):
                chain.write(data)
        chain.finish()
    finally:
        sink.close()
