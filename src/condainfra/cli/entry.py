"""The `condainfra` executable: load the command group asked for, run it, map errors to exit codes.

`condainfra mirror ...` loads the mirror's group alone. CI starts it once per (channel, subdir, shard)
job, and loading the whole CLI (config models, compiler, Pulumi-facing commands) first made its start
half as long again (0.65 s against 0.50 s, here)."""

from __future__ import annotations

import sys

from .apps import run


def entry() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["mirror"]:
        from .mirror import app

        sys.exit(run(app, argv[1:], "condainfra mirror"))
    from .main import main

    sys.exit(main(argv))
