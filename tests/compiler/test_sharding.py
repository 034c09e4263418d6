from __future__ import annotations

import collections

from condainfra.compiler.sharding import shard_of, shard_stack_name


def names(n: int) -> list[str]:
    return [f"pkg-{i}" for i in range(n)]


def test_adding_feedstocks_moves_no_other_feedstock():
    before = {n: shard_of(n, 32) for n in names(5000)}
    # the rule looks at one name only, so any new name leaves every old assignment as it was
    after = {n: shard_of(n, 32) for n in names(6000)}
    assert all(after[n] == s for n, s in before.items())


def test_growing_the_shard_count_moves_only_the_share_the_new_shards_take():
    feedstocks = names(20000)
    moved = [n for n in feedstocks if shard_of(n, 32) != shard_of(n, 40)]
    assert 0.15 < len(moved) / len(feedstocks) < 0.25  # (40 - 32) / 40 = 0.2
    assert all(shard_of(n, 40) >= 32 for n in moved)  # moves only into the new shards


def test_spread_is_even():
    counts = collections.Counter(shard_of(n, 32) for n in names(32000))
    assert set(counts) == set(range(32))
    assert max(counts.values()) < 1.2 * 1000 and min(counts.values()) > 0.8 * 1000


def test_stable_values_and_names():
    # pinned: a change to the rule would silently move real feedstocks between stacks
    assert [shard_of(n, 32) for n in ("numpy", "python", "zlib", "r-base")] == [8, 15, 7, 10]
    assert shard_of("anything", 1) == 0
    assert shard_stack_name("conda-forge", 7) == "conda-forge-feedstocks-07"
