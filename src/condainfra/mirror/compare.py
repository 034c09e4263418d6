"""Upstream's repodata against what the mirror holds: which builds to push, which entries are in place.

One pass over upstream's raw records; each is decoded lean, checked (file name, sha256, size), and kept
only when it is to be pushed, so a re-sync of 500,000 unchanged entries holds no record at all.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass, field

from . import layout
from .records import Lean, Repodata, key_of, lean, sha256_problem, sibling
from .run import SyncOptions, SyncReport


@dataclass
class Comparison:
    done: set[str] = field(default_factory=set)  # valid entries the mirror holds with upstream's sha256
    wanted: dict[str, Lean] = field(default_factory=dict)  # records of the files to push (and their siblings)
    missing: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (name, tag) -> files
    lacking: set[str] = field(default_factory=set)  # selected entries not in place: the publication is complete without any
    rejected: int = 0


def in_shard(name: str, shard: tuple[int, int] | None) -> bool:
    """Shard K of N holds the names whose sha256 is K-1 modulo N: stable across runs and machines."""
    if shard is None:
        return True
    k, n = shard
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % n == k - 1


def compare(upstream: Repodata, have: dict[str, bytes], subdir: str, options: SyncOptions, report: SyncReport, prefix: str) -> Comparison:
    out = Comparison()
    chosen: dict[str, bool] = {}  # per name: selected and in this shard

    def selected(name: str) -> bool:
        if name not in chosen:
            globs = options.packages
            chosen[name] = (not globs or any(fnmatch.fnmatchcase(name, g) for g in globs)) and in_shard(name, options.shard)
        return chosen[name]

    lacking: dict[str, Lean] = {}
    present_selected = 0
    for key, filename, raw in upstream.items():
        record = lean(raw)
        problem = record if isinstance(record, str) else (
            layout.file_problem(filename, record.name, record.version, record.build, key) or sha256_problem(record))
        if problem:
            report.rejected.append((f"{subdir}/{layout.shown(filename)}", problem))
            out.rejected += 1
            continue
        present = have.get(filename) == bytes.fromhex(record.sha256)
        if present:
            out.done.add(filename)
        if not selected(record.name):
            continue
        if present:
            present_selected += 1
        else:
            lacking[filename] = record
    out.lacking = set(lacking)

    groups: dict[tuple[str, str], list[str]] = {}
    for filename, record in lacking.items():
        tag = layout.tag_for(record.version, record.build)
        if tag is None or not layout.valid_repository(layout.repository(prefix, options.channel, subdir, record.name)):
            report.invalid.append((f"{subdir}/{filename}", f"no valid OCI name for {record.name} {record.version} {record.build}"))
            continue
        groups.setdefault((record.name, tag), []).append(filename)
        out.wanted[filename] = record
    # a build's tag carries both of its files: one already in place is pushed again with its new sibling
    siblings = 0
    for key, files in groups.items():
        other = sibling(files[0])
        if len(files) == 1 and other in out.done:
            record = lean(upstream.records[key_of(other)][other])
            if isinstance(record, Lean) and record.name == key[0]:
                files.append(other)
                out.wanted[other] = record
                siblings += 1
        out.missing[key] = files
    report.skipped += present_selected - siblings
    return out
