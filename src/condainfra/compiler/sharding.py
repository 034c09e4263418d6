"""Which stack a feedstock lives in.

The rule is jump consistent hashing (Lamping & Veach, 2014) of the first 8 bytes
of sha256(feedstock name). A feedstock's shard depends on its own name and the
shard count only, so adding or removing a feedstock never moves another one;
raising the count from n to m moves only about (m - n) / m of them, each to a
new shard. See docs/sharding.md.
"""

from __future__ import annotations

import functools
import hashlib

_MASK = (1 << 64) - 1


# A plan places every feedstock twice (its checkout and its baseline): the second time is a lookup.
@functools.lru_cache(maxsize=1 << 17)
def shard_of(name: str, shards: int) -> int:
    if shards < 1:
        raise ValueError("shards must be at least 1")
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    bucket, jump = -1, 0
    while jump < shards:
        bucket = jump
        key = (key * 2862933555777941757 + 1) & _MASK
        jump = int((bucket + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return bucket


def shard_stack_name(org: str, shard: int) -> str:
    return f"{org}-feedstocks-{shard:02d}"
