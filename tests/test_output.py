"""condainfra.output.write_atomic, the one writer of `--out` files (plan, render, adopt, import access).

Devices are made with mknod in the test's own folder (the tests run as root in CI and here): a test of
the code before issue 17 replaced the node it was given, and must never be given the real /dev/null."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from condainfra.errors import CondainfraError
from condainfra.output import write_atomic


def device(path: Path, minor: int) -> Path:
    """A character device of the kernel's memory driver: 3 is null, 7 is full (ENOSPC on write)."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("mknod needs root (CAP_MKNOD); CI and the dev container run the tests as root")
    return path


def is_char_device(path: Path) -> bool:
    return stat.S_ISCHR(os.lstat(path).st_mode)


def test_a_new_file_and_a_replaced_one_are_written_whole(tmp_path):
    out = tmp_path / "plan.md"
    write_atomic(out, "one\n")
    assert out.read_text() == "one\n" and stat.S_IMODE(out.stat().st_mode) == 0o666 & ~os.umask(os.umask(0o022))
    out.chmod(0o640)
    write_atomic(out, "two\n")
    assert out.read_text() == "two\n" and stat.S_IMODE(out.stat().st_mode) == 0o640  # a replaced file keeps its permissions
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.md"]  # no temporary file left


def test_a_null_device_is_written_through_not_replaced(tmp_path):
    null = device(tmp_path / "null", 3)
    write_atomic(null, "plan\n")
    assert is_char_device(null)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_a_full_device_is_one_plain_error(tmp_path):
    full = device(tmp_path / "full", 7)
    with pytest.raises(CondainfraError, match=r"full: cannot write: No space left on device$"):
        write_atomic(full, "plan\n" * 10_000)
    assert is_char_device(full)


def test_a_fifo_is_written_through(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_atomic(fifo, "through the pipe\n")
    reader.join(timeout=10)
    assert received == [b"through the pipe\n"] and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_link_to_a_file_is_followed_never_replaced(tmp_path):
    real = tmp_path / "real.md"
    real.write_text("old\n")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    write_atomic(link, "new\n")
    assert link.is_symlink() and real.read_text() == "new\n"


def test_a_linked_folder_is_written_through_never_replaced(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "real", target_is_directory=True)
    write_atomic(tmp_path / "linked" / "plan.md", "plan\n")
    assert (tmp_path / "linked").is_symlink() and (tmp_path / "real" / "plan.md").read_text() == "plan\n"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["plan.md"]


def test_a_folder_or_a_link_to_one_is_refused(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dirlink").symlink_to(tmp_path / "dir", target_is_directory=True)
    for path in (tmp_path / "dir", tmp_path / "dirlink"):
        with pytest.raises(CondainfraError, match="is a folder"):
            write_atomic(path, "x")
    assert (tmp_path / "dirlink").is_symlink() and list((tmp_path / "dir").iterdir()) == []


@pytest.mark.parametrize("where, message", [
    ("/sys/kernel/plan.md", "/sys/kernel/plan.md: cannot write: Permission denied"),  # a folder not even root may write
    ("{tmp}/file/plan.md", "{tmp}/file/plan.md: cannot write: Not a directory"),
    ("{tmp}/missing/plan.md", "{tmp}/missing/plan.md: folder {tmp}/missing does not exist"),
])
def test_an_unwritable_place_is_one_plain_message(tmp_path, where, message):
    (tmp_path / "file").write_text("")
    with pytest.raises(CondainfraError) as caught:
        write_atomic(Path(where.format(tmp=tmp_path)), "x")
    assert str(caught.value) == message.format(tmp=tmp_path)


# --- the commands that take --out


@pytest.mark.parametrize("command", [["render", "--all"], ["plan", "--all", "--from-scratch"]], ids=["render", "plan"])
def test_out_to_a_null_device_keeps_the_device(cli, minimal, tmp_path, command):
    # was: exit 0 with the device node replaced by a regular file
    null = device(tmp_path / "null", 3)
    result = cli(*command, "--root", str(minimal), "--out", str(null))
    assert result.code in (0, 2), result.err  # plan: 2 says there are changes
    assert is_char_device(null) and "error" not in result.err


@pytest.mark.parametrize("command", [["render", "--all"], ["plan", "--all", "--from-scratch"]], ids=["render", "plan"])
def test_out_to_a_full_device_fails_plainly(cli, minimal, tmp_path, command):
    # was: exit 0, the device replaced
    full = device(tmp_path / "full", 7)
    result = cli(*command, "--root", str(minimal), "--out", str(full))
    assert result.code == 1 and f"error: {full}: cannot write: No space left on device" in result.err, result.err
    assert is_char_device(full)


def test_out_in_an_unwritable_folder_fails_plainly(cli, minimal):
    result = cli("render", "--all", "--root", str(minimal), "--out", "/sys/kernel/render.json")
    assert result.code == 1 and "error: /sys/kernel/render.json: cannot write: Permission denied" in result.err, result.err
    assert "internal error" not in result.err
