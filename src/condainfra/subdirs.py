"""conda's subdirs: the one grammar for their names, and the ones a channel is mirrored in by default.

A leaf module (no pydantic, no config loading): the config's models and the mirror's layout both read
it, and `condainfra mirror ...` jobs start without loading the config at all."""

from __future__ import annotations

import re

# noarch, linux-64, osx-arm64, emscripten-wasm32, ...: a platform and an architecture, at most 64 characters
SUBDIR = re.compile(r"^(?=.{1,64}$)(?:noarch|[a-z0-9]+-[a-z0-9_]+)$")
# the subdirs a channel is mirrored in when its config names none (the stack's sync job, the mirror's reads)
KNOWN_SUBDIRS = ("noarch", "linux-64", "linux-aarch64", "linux-ppc64le", "osx-64", "osx-arm64", "win-64", "win-arm64")


def valid_subdir(subdir: object) -> bool:
    return isinstance(subdir, str) and bool(SUBDIR.fullmatch(subdir))
