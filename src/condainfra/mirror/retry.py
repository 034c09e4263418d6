"""The mirror's one retry policy, for the registry and the channel alike: 429, 5xx and dropped
connections are asked again with exponential backoff (tenacity), honouring ``Retry-After``."""

from __future__ import annotations

import asyncio

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class RetryableStatus(Exception):
    """An answer that says "later": retried, then reported with its status."""

    def __init__(self, response: httpx.Response):
        super().__init__(f"{response.request.method} {response.request.url.path}: HTTP {response.status_code}")
        self.response = response


async def raise_if_retryable(response: httpx.Response) -> None:
    """Close a "later" answer, wait what it asks (30 s at most), and raise :class:`RetryableStatus`."""
    if response.status_code not in RETRY_STATUSES:
        return
    await response.aclose()
    delay = response.headers.get("retry-after")
    if delay and delay.isdigit():
        await asyncio.sleep(min(int(delay), 30))
    raise RetryableStatus(response)


def retrying(attempts: int) -> AsyncRetrying:
    return AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=0.2, max=10, jitter=0.5),
        retry=retry_if_exception_type((RetryableStatus, httpx.TransportError)),
        reraise=True,
    )
