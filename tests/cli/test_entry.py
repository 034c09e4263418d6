"""The installed executable: `condainfra mirror ...` loads the mirror's group alone, with the same error mapping.

CI starts `mirror sync` once per (channel, subdir, shard) job, so its start is on every job's clock."""

from __future__ import annotations

import ast
import subprocess
import sys

# what the run imported, printed as the interpreter exits (after entry's sys.exit)
PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] == 'condainfra'), file=sys.stderr))\n"
    "sys.argv = ['condainfra', *sys.argv[1:]]\n"
    "from condainfra.cli.entry import entry\n"
    "entry()\n"
)


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def _loaded(stderr: str) -> list[str]:
    line = next(line for line in stderr.splitlines() if line.startswith("LOADED "))
    return ast.literal_eval(line.removeprefix("LOADED "))


def test_a_mirror_sync_loads_no_config_model_and_fails_clearly():
    # port 9 (discard) on loopback: nothing listens, the registry is unreachable at once
    done = _run("mirror", "sync", "--from", "http://127.0.0.1:9/chan", "--to", "oci://127.0.0.1:9/m", "--insecure", "--limit", "attempts=1")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "error: registry 127.0.0.1:9 is not reachable after 1 attempts" in done.stderr
    loaded = _loaded(done.stderr)
    assert "condainfra.mirror.sync" in loaded
    # (pydantic itself is loaded by typer, which builds the command's options with it)
    assert not [m for m in loaded if m.startswith(("condainfra.config.", "condainfra.project", "condainfra.compiler", "condainfra.plan"))], loaded


def test_mirror_usage_errors_and_help_name_the_whole_command():
    bad = _run("mirror", "sync", "--no-such-flag")
    assert bad.returncode == 1 and "error: No such option: --no-such-flag" in bad.stderr and "Traceback" not in bad.stderr
    shown = _run("mirror", "sync", "--help")
    assert shown.returncode == 0 and shown.stdout.lstrip().startswith("Usage: condainfra mirror sync [OPTIONS]")
    # the same text and exit code as the whole CLI, for a command and for the bare group
    for args in (["mirror", "sync", "--help"], ["mirror"]):
        whole = subprocess.run([sys.executable, "-c", f"import sys; from condainfra.cli.main import main; sys.exit(main({args!r}))"],
                               capture_output=True, text=True, timeout=120)
        alone = _run(*args)
        assert (alone.returncode, alone.stdout) == (whole.returncode, whole.stdout), args
        assert alone.stderr.split("LOADED ")[0] == whole.stderr, args


def test_a_mirror_command_that_needs_the_project_still_loads_it(workdir):
    done = _run("mirror", "client-config", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert "[mirrors]" in done.stdout and "condainfra.config.mirror" in _loaded(done.stderr)


def test_every_other_command_goes_through_the_whole_cli(workdir):
    done = _run("validate", cwd=workdir)
    assert done.returncode == 0 and "ok: 2 org(s)" in done.stdout
    assert "condainfra.cli.main" in _loaded(done.stderr)
    assert _run("--version").stdout.startswith("condainfra ")
