"""Files the CLI writes (plan.md, renders) are ordinary files: the mode the umask gives, not mkstemp's 0600."""

from __future__ import annotations

import os
import stat

import pytest

from condainfra.output import write_atomic


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_write_atomic_gives_the_umask_mode(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "plan.md", "# plan\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "plan.md").stat().st_mode) == mode
    assert (tmp_path / "plan.md").read_text() == "# plan\n"


def test_the_cli_writes_plan_md_readable_by_others(cli, minimal, tmp_path):
    old = os.umask(0o022)
    try:
        result = cli("plan", "--all", "--from-scratch", "--root", str(minimal), "--out", str(tmp_path / "plan.md"))
    finally:
        os.umask(old)
    assert result.code == 2, result.err
    assert stat.S_IMODE((tmp_path / "plan.md").stat().st_mode) == 0o644
