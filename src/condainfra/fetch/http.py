"""One request under the policy: a deadline for the whole of it, the body streamed through bounded
decoders into a capped sink (memory or a file), redirects limited, "later" answers retried a bounded
number of times, header values parsed strictly."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Callable
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from ..urls import public_url
from .decode import Chain, Sink
from .limits import ERROR_BODY, MAX_BACKOFF, FetchError, FetchPolicy, LimitExceeded, Unreachable, too_large

# only what decode.py decodes with bounded output; an answer in another encoding is refused
ACCEPT_ENCODING = "gzip, deflate, zstd"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 30.0  # a "later" answer between attempts; GitHub's rate limits have their own waits


def new_client(policy: FetchPolicy, *, headers: dict[str, str] | None = None, timeout: float = 60.0, **kwargs: Any) -> httpx.AsyncClient:
    """An httpx client set up for the policy; the per-read timeout is only a backstop to its deadlines."""
    return httpx.AsyncClient(
        headers={"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})},
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        max_redirects=policy.redirects,
        **kwargs,
    )


class RetryableStatus(Exception):
    """An answer that says "later": retried, then reported with its status."""

    def __init__(self, method: str, url: str, status: int):
        super().__init__(f"{method} {urlsplit(url).path}: HTTP {status}")
        self.method, self.url, self.status = method, url, status


# -- header values, parsed strictly ---------------------------------------------------------------

_ETAG = re.compile(r'(?:W/)?"[\x21\x23-\x7e]{0,200}"')
_LINK_PART = re.compile(r'\s*<((?:https?://|/)[\x21-\x3b\x3d\x3f-\x7e]{1,2000})>((?:\s*;\s*[A-Za-z*-]{1,40}\s*=\s*(?:"[\x20\x21\x23-\x7e]{0,200}"|[\x21\x23-\x2b\x2d-\x3a\x3c-\x7e]{1,200}))*)\s*')
_LINK_PARAM = re.compile(r'\s*;\s*([A-Za-z*-]{1,40})\s*=\s*(?:"([^"]*)"|([^\s;,]+))')


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` asks for: ASCII digits or an HTTP date; None for anything else."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit() and len(value) <= 10:
        return float(value)
    if not value.isascii() or len(value) > 40:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - datetime.fromtimestamp(now if now is not None else time.time(), timezone.utc)).total_seconds(), 0.0)


def parse_etag(value: str | None) -> str | None:
    """An ETag fit to be stored and sent back (visible ASCII in quotes); None for anything else."""
    return value if value is not None and _ETAG.fullmatch(value) else None


def next_link(header: str | None, where: str) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header; a header that is not a list of ``<URL>; k=v``
    links is one error naming ``where``."""
    if not header:
        return None
    found = None
    rest = header
    while rest:
        match = _LINK_PART.match(rest)
        if not match:
            raise FetchError(f"{where}: unreadable Link header")
        params = {k.lower(): (q if q is not None and not u else u) for k, q, u in _LINK_PARAM.findall(match.group(2))}
        if "next" in params.get("rel", "").lower().split() and found is None:
            found = match.group(1)
        rest = rest[match.end():]
        if rest and not rest.startswith(","):
            raise FetchError(f"{where}: unreadable Link header")
        rest = rest[1:]
    return found


# -- requests ----------------------------------------------------------------------------------------


def retrying(policy: FetchPolicy, attempts: int | None = None) -> AsyncRetrying:
    return AsyncRetrying(
        stop=stop_after_attempt(attempts or policy.attempts),
        wait=wait_exponential_jitter(multiplier=policy.backoff, max=MAX_BACKOFF, jitter=policy.backoff * 2.5),
        retry=retry_if_exception_type((RetryableStatus, httpx.TransportError)),
        reraise=True,
    )


@dataclass
class Answer:
    status: int
    headers: httpx.Headers
    url: str
    body: bytes = b""  # what was read into memory
    size: int = 0  # decoded bytes read
    sha256: str = ""  # of the decoded bytes, when asked for


class _Enough(Exception):
    pass


def _full(client: httpx.AsyncClient, url: str | httpx.URL) -> httpx.URL:
    # parsed once and handed to httpx as it is: a registry's upload URLs carry long state tokens that
    # httpx checks character by character on every parse, and URL.join parses three times
    if isinstance(url, httpx.URL) or not str(client.base_url) or url.startswith(("http://", "https://")):
        return httpx.URL(url)
    base = client.base_url
    if url.startswith("/") and not url.startswith("//") and base.raw_path == b"/" and not base.query and not base.userinfo:
        return httpx.URL(f"{base.scheme}://{base.netloc.decode('ascii')}{url}")
    return base.join(url)


def _checked_url(url: str) -> str:
    shown = public_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port outside 0-65535)
    except ValueError:
        raise FetchError(f"{shown}: not a valid URL (the port must be a number from 1 to 65535)") from None
    if parts.scheme not in ("http", "https") and not url.startswith("/"):
        raise FetchError(f"{shown}: only http(s) URLs are read")
    return shown


async def fetch_once(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    policy: FetchPolicy,
    kind: str,
    headers: dict[str, str] | None = None,
    content: Any = None,
    follow_redirects: bool = False,
    read: tuple[int, ...] = (200,),
    dest: Path | None = None,
    file_format: str | None = None,
    max_bytes: int | None = None,
    tripped: Callable[[], Exception] | None = None,
    digest: bool = False,
    retry_statuses: frozenset[int] = RETRY_STATUSES,
) -> Answer:
    """One request. The body of an answer whose status is in ``read`` is decoded (Content-Encoding,
    then ``file_format``) into memory, or into ``dest``, capped at the kind's size (or ``max_bytes``,
    which ``tripped`` then reports); of any other answer, its first bytes are kept to quote. A status
    in ``retry_statuses`` waits what its ``Retry-After`` asks (bounded) and raises :class:`RetryableStatus`."""
    full, shown, window, deadline_text = _opened(client, url, policy, kind)
    limit = policy.limit(kind)
    later: float | None = None
    with _mapped(shown, deadline_text, policy):
        async with asyncio.timeout(window):
            request = client.build_request(method, full, headers=headers, content=content)
            response = await client.send(request, stream=True, follow_redirects=follow_redirects)
            try:
                status = response.status_code
                if status in retry_statuses:
                    later = parse_retry_after(response.headers.get("retry-after")) or 0.0
                    answer = Answer(status, response.headers, str(response.url))
                else:
                    answer = await _read(response, shown, kind, status in read, dest, file_format,
                                         min(limit.max_bytes, max_bytes) if max_bytes is not None else limit.max_bytes,
                                         tripped if max_bytes is not None and max_bytes < limit.max_bytes else None, digest)
            finally:
                await response.aclose()
    if later is not None:
        await _wait_then_retry(method, shown, answer.status, later, policy)
    return answer


def _opened(client: httpx.AsyncClient, url: str, policy: FetchPolicy, kind: str) -> tuple[httpx.URL, str, float, str]:
    """(the full URL, how it is shown, the request's deadline in seconds and in words) of a request to make."""
    try:
        full = _full(client, url)
    except (httpx.InvalidURL, ValueError, OverflowError) as exc:
        raise FetchError(f"{_checked_url(str(url))}: not a valid URL ({str(exc)[:200]})") from None
    shown = _checked_url(str(full))
    return (full, shown, *policy.request_window(kind, shown))


@contextlib.contextmanager
def _mapped(shown: str, deadline_text: str, policy: FetchPolicy):
    """What goes wrong while a request is sent or its answer read, as one FetchError naming the source.
    Not retried: a redirect to another scheme (``ftp:``, ``file:``) or a malformed URL is no passing fault."""
    try:
        yield
    except TimeoutError:
        raise LimitExceeded(f"{shown}: no complete answer within {deadline_text}") from None
    except httpx.TooManyRedirects:
        raise FetchError(f"{shown}: more than {policy.redirects} redirects (a redirect loop?; limit redirects)") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
        raise FetchError(f"{shown}: {type(exc).__name__}: {str(exc)[:200]}") from None
    except OverflowError:
        raise FetchError(f"{shown}: not a valid URL (the port must be a number from 1 to 65535)") from None


async def _wait_then_retry(method: str, shown: str, status: int, later: float, policy: FetchPolicy):
    await asyncio.sleep(max(0.0, min(later, MAX_RETRY_AFTER, policy.remaining())))
    raise RetryableStatus(method, shown, status)


async def _read(response: httpx.Response, shown: str, kind: str, wanted: bool, dest: Path | None, file_format: str | None,
                cap: int, tripped, digest: bool) -> Answer:
    encodings = [e.strip().lower() for e in response.headers.get("content-encoding", "").split(",") if e.strip()]
    if len(encodings) > 2:
        raise FetchError(f"{shown}: more than two content encodings")
    formats = [*reversed(encodings), *([file_format] if file_format and wanted else [])]
    if wanted:
        sink = Sink(shown, kind, cap, path=dest, digest=digest, tripped=tripped)
    else:
        sink = Sink(shown, kind, ERROR_BODY, tripped=_Enough)
    try:
        chain = Chain(sink, formats, shown)
        received = False
        async for data in response.aiter_raw(1 << 16):
            received = received or bool(data)
            chain.write(data)
        if received:  # a HEAD, 204 or 304 may name an encoding and carry no body at all
            chain.finish()
    except (_Enough, FetchError) as exc:
        if wanted:
            raise
        del exc  # an error answer's reason is only quoted: its first bytes are enough
    finally:
        sink.close()
    return Answer(response.status_code, response.headers, str(response.url), sink.body, sink.size, sink.sha256)


async def fetch(client: httpx.AsyncClient, method: str, url: str, *, policy: FetchPolicy, kind: str, attempts: int | None = None, **kwargs: Any) -> Answer:
    """:func:`fetch_once` retried (bounded attempts) on "later" answers and dropped connections;
    when they run out, one :class:`FetchError` naming the source."""
    attempts = attempts or policy.attempts

    def shown() -> str:  # only when it failed: the URL was parsed and checked by each attempt already
        try:
            return public_url(str(_full(client, url)))
        except (httpx.InvalidURL, ValueError, OverflowError):
            return public_url(str(url))

    try:
        async for attempt in retrying(policy, attempts):
            with attempt:
                return await fetch_once(client, method, url, policy=policy, kind=kind, **kwargs)
    except RetryableStatus as exc:
        raise FetchError(f"{shown()}: HTTP {exc.status} after {attempts} attempts (limit attempts)") from None
    except httpx.TransportError as exc:
        cause = f"{type(exc).__name__}: {str(exc)[:200] or 'no answer'}"
        raise Unreachable(f"{shown()}: not reachable after {attempts} attempts ({cause})", cause) from None
    raise AssertionError("unreachable")


@dataclass
class Stream:
    """An answer whose body the caller passes on as it comes (``mirror serve``): ``chunks`` stops at the
    kind's size cap and at the request's deadline, which runs from the request to the last byte."""

    status: int
    headers: httpx.Headers
    chunks: AsyncIterator[bytes]
    response: httpx.Response

    async def aclose(self) -> None:
        await self.response.aclose()


async def open_stream(client: httpx.AsyncClient, url: str, *, policy: FetchPolicy, kind: str, headers: dict[str, str] | None = None) -> Stream:
    """One GET, redirects followed (at most the policy's), left open for the body to be streamed. The
    body is asked for as it is stored (no Content-Encoding): what is counted is what is passed on.
    A "later" answer waits what it asks (bounded) and raises :class:`RetryableStatus`, as fetch_once."""
    full, shown, window, deadline_text = _opened(client, url, policy, kind)
    deadline = asyncio.get_running_loop().time() + window
    cap = policy.limit(kind).max_bytes
    with _mapped(shown, deadline_text, policy):
        async with asyncio.timeout_at(deadline):
            request = client.build_request("GET", full, headers={**(headers or {}), "Accept-Encoding": "identity"})
            response = await client.send(request, stream=True, follow_redirects=True)
    if response.status_code in RETRY_STATUSES:
        await response.aclose()
        await _wait_then_retry("GET", shown, response.status_code, parse_retry_after(response.headers.get("retry-after")) or 0.0, policy)
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if response.status_code == 200 and encoding not in ("", "identity"):
        await response.aclose()
        raise FetchError(f"{shown}: answered in {encoding[:40]!r} encoding, though asked for the stored bytes")

    async def chunks() -> AsyncIterator[bytes]:
        size = 0
        raw = response.aiter_raw(1 << 16)
        try:
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        data = await anext(raw)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise LimitExceeded(f"{shown}: no complete answer within {deadline_text}") from None
                except httpx.TransportError as exc:
                    raise FetchError(f"{shown}: the answer broke off ({type(exc).__name__})") from None
                size += len(data)
                if size > cap:
                    raise too_large(shown, kind, cap)
                yield data
        finally:
            await raw.aclose()
            await response.aclose()

    return Stream(response.status_code, response.headers, chunks(), response)
