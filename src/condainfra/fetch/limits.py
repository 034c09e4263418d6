"""The limits every read from outside is held to, per kind of document, and how to set them.

Defaults fit real data with room to grow: conda-forge's largest ``repodata.json`` is about 250 MB
decompressed, its ``channeldata.json`` tens of MB, a bot status file a few MB, a GitHub answer of
100 items well under 1 MB. An operator sets any of them with ``KIND=SIZE``, ``KIND.deadline=TIME``,
``run=TIME``, ``attempts=N``, ``backoff=TIME``, ``redirects=N`` or ``pages=N`` (``--limit`` on the command line, the
dashboard's ``limits`` setting).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace

from ..errors import CondainfraError
from ..urls import public_url

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


@dataclass(frozen=True)
class Limit:
    max_bytes: int  # decompressed bytes, counted as they arrive
    deadline: float  # seconds for one whole request: connect, answer and every byte of the body


DEFAULT_LIMITS: dict[str, Limit] = {
    "repodata": Limit(512 * MiB, 900.0),  # a subdir's repodata.json, upstream or the mirror's copy
    "channeldata": Limit(256 * MiB, 600.0),
    "artifact": Limit(16 * GiB, 3600.0),  # one package file; repodata's size is enforced as well
    "status": Limit(64 * MiB, 300.0),  # the bot's status files, feedstock_outputs.json
    "api": Limit(8 * MiB, 120.0),  # one GitHub REST answer (a page of 100 repositories is under 1 MB)
    "registry": Limit(16 * MiB, 120.0),  # OCI manifests, tag lists, token answers
    "upload": Limit(64 * KiB, 3600.0),  # a registry's answer to a blob upload (the body sent is ours)
}
ERROR_BODY = 64 * KiB  # what is read of an error answer, to quote its reason
MAX_BACKOFF = 10.0  # seconds: the longest wait between two attempts (a Retry-After may ask for longer)


class FetchError(CondainfraError):
    """A source that could not be read; one line naming it (never with credentials) and why."""


class LimitExceeded(FetchError):
    """A limit tripped: the line names the source and the limit."""


class Unreachable(FetchError):
    """No answer after every attempt: ``cause`` says what the last one met."""

    def __init__(self, message: str, cause: str):
        super().__init__(message)
        self.cause = cause


_UNITS = {"": 1, "b": 1, "k": KiB, "kb": 1000, "kib": KiB, "m": MiB, "mb": 1000**2, "mib": MiB,
          "g": GiB, "gb": 1000**3, "gib": GiB, "t": 1 << 40, "tb": 1000**4, "tib": 1 << 40}
_SIZE = re.compile(r"(\d{1,15})\s*([a-z]{0,3})")
_TIME = re.compile(r"(\d{1,9}(?:\.\d{1,3})?)\s*(ms|s|m|h|)")
_SECONDS = {"ms": 0.001, "s": 1.0, "": 1.0, "m": 60.0, "h": 3600.0}


def parse_size(text: str) -> int | None:
    match = _SIZE.fullmatch(text.strip().lower())
    if not match or match.group(2) not in _UNITS:
        return None
    value = int(match.group(1)) * _UNITS[match.group(2)]
    return value if value > 0 else None


def parse_seconds(text: str) -> float | None:
    match = _TIME.fullmatch(text.strip().lower())
    if not match:
        return None
    value = float(match.group(1)) * _SECONDS[match.group(2)]
    return value if value > 0 else None


def size_text(n: float) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n:g} bytes"


@dataclass
class FetchPolicy:
    """Limits for one run (a command, or one periodic refresh); share it by every reader of the run,
    so its deadline is the run's, however many requests it makes."""

    limits: dict[str, Limit] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    attempts: int = 5  # every retried answer (5xx, 429, a dropped connection) included
    backoff: float = 0.2  # the first wait between attempts, doubled each time up to MAX_BACKOFF, plus jitter
    redirects: int = 5
    pages: int = 1000  # pages of one paginated list (GitHub: 100 items each; conda-forge has ~290 pages of repositories)
    run_deadline: float = 24 * 3600.0  # a first copy of a whole channel is long; commands with shorter runs set theirs
    started: float = field(default_factory=time.monotonic)

    def limit(self, kind: str) -> Limit:
        return self.limits[kind]

    def remaining(self) -> float:
        return self.run_deadline - (time.monotonic() - self.started)

    def request_window(self, kind: str, url: str) -> tuple[float, str]:
        """(seconds this request may take, what the line says when they run out)."""
        own, left = self.limit(kind).deadline, self.remaining()
        if left <= 0:
            raise LimitExceeded(f"{public_url(url)}: the run's deadline of {self.run_deadline:g} s has passed (limit run)")
        if left < own:
            return left, f"the run's deadline of {self.run_deadline:g} s (limit run)"
        return own, f"the {kind} deadline of {own:g} s (limit {kind}.deadline)"

    def restarted(self) -> FetchPolicy:
        """The same limits for a new run (a periodic job runs many)."""
        return replace(self, started=time.monotonic())

    def with_settings(self, items: list[str] | tuple[str, ...], where: str) -> FetchPolicy:
        """The policy with ``NAME=VALUE`` items applied; a bad item is one message naming ``where``."""
        policy = replace(self, limits=dict(self.limits))
        for item in items:
            name, sep, value = item.partition("=")
            name = name.strip()
            bad = f"{where} {item!r}"
            if not sep:
                raise CondainfraError(f"{bad}: expected NAME=VALUE, like repodata=1GiB, repodata.deadline=20m or run=2h")
            kind, _, part = name.partition(".")
            if name in ("attempts", "redirects", "pages"):
                if not value.strip().isascii() or not value.strip().isdigit() or not 0 < int(value) <= 100_000:
                    raise CondainfraError(f"{bad}: {name} must be a whole number from 1 to 100000")
                setattr(policy, name, int(value))
            elif name == "backoff":
                # 0 is allowed: a test's or a batch job's choice, never a default
                seconds = 0.0 if value.strip().lower() in ("0", "0s", "0ms") else parse_seconds(value)
                if seconds is None or seconds > MAX_BACKOFF:
                    raise CondainfraError(f"{bad}: expected a time from 0 to {MAX_BACKOFF:g}s, like 200ms")
                policy.backoff = seconds
            elif name == "run":
                seconds = parse_seconds(value)
                if seconds is None:
                    raise CondainfraError(f"{bad}: expected a time like 90s, 20m or 2h")
                policy.run_deadline = seconds
            elif kind in policy.limits and part in ("", "deadline"):
                old = policy.limits[kind]
                if part:
                    seconds = parse_seconds(value)
                    if seconds is None:
                        raise CondainfraError(f"{bad}: expected a time like 90s, 20m or 2h")
                    policy.limits[kind] = Limit(old.max_bytes, seconds)
                else:
                    size = parse_size(value)
                    if size is None:
                        raise CondainfraError(f"{bad}: expected a size like 800MiB or 2GiB")
                    policy.limits[kind] = Limit(size, old.deadline)
            else:
                known = ", ".join([*policy.limits, *(f"{k}.deadline" for k in policy.limits), "run", "attempts", "backoff", "redirects", "pages"])
                raise CondainfraError(f"{bad}: unknown limit {name!r}; known: {known}")
        return policy


def too_large(where: str, kind: str, max_bytes: int) -> LimitExceeded:
    return LimitExceeded(f"{where}: larger than the {kind} limit of {size_text(max_bytes)} (decompressed; limit {kind})")
