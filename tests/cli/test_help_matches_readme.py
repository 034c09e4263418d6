"""`--help` is the source of truth: README's command table names every command and every option the
help shows, nothing else, and each value's placeholder is a word (never a Python type such as <list[str]>).

The commands are found by reading `condainfra --help` and each group's help, so a command or option
added anywhere is checked without this file changing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OPTION = re.compile(r"(?<![\w-])--?[a-z][a-z0-9-]*")
# a placeholder is words in capitals (NAME, REF|FILE, NAME=VALUE) or a list of choices (text|json)
PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9_]*(?:[|=][A-Z][A-Z0-9_]*)*(?:\.\.\.)?|[a-z0-9-]+(?:\|[a-z0-9-]+)+")


def _sections(text: str) -> dict[str, list[str]]:
    """The first column of each entry of each help section (``Options:``, ``Commands:``, ``Arguments:``)."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if re.fullmatch(r"[A-Z][A-Za-z ]*:", line):
            current = sections.setdefault(line[:-1], [])
        elif current is not None and re.match(r"  \S", line):
            current.append(re.split(r"\s{2,}", line.strip(), maxsplit=1)[0])
    return sections


@pytest.fixture(scope="module")
def helps() -> dict[str, dict[str, list[str]]]:
    """Every command's help sections by command path ("plan", "mirror sync"), groups walked from the top."""
    import contextlib
    import io

    from condainfra.cli.main import main

    found: dict[str, dict[str, list[str]]] = {}
    todo: list[list[str]] = [[]]
    while todo:
        path = todo.pop()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main([*path, "--help"])
        assert code == 0, f"condainfra {' '.join(path)} --help: exit {code}"
        sections = _sections(out.getvalue())
        if "Commands" in sections:
            todo += [[*path, entry.split()[0]] for entry in sections["Commands"]]
        if path:
            found[" ".join(path)] = sections
    groups = {name for name in found if any(other.startswith(name + " ") for other in found)}
    return {name: sections for name, sections in found.items() if name not in groups}


def _help_options(sections: dict[str, list[str]]) -> set[str]:
    return {o for entry in sections.get("Options", []) for o in OPTION.findall(entry) if o != "--help"}


def _readme_rows() -> dict[str, str]:
    """README's command table under "## Using it": command path -> the first cell without `condainfra`."""
    text = (REPO / "README.md").read_text()
    table = text.split("## Using it", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in table.splitlines():
        if not line.startswith("| `condainfra "):
            continue
        cell = re.match(r"\| `condainfra ([^`]*)`", line).group(1).replace("\\|", "|")
        words = cell.split()
        command = " ".join(w for w in words[: next((i for i, w in enumerate(words) if not re.fullmatch(r"[a-z][a-z-]*", w)), len(words))])
        assert command not in rows, f"README: two rows for `condainfra {command}`"
        rows[command] = cell
    return rows


def test_every_command_has_one_readme_row_and_every_row_a_command(helps):
    rows = _readme_rows()

    def command_of(row: str) -> str | None:  # a row is "plan --stack ..." or "import github --org ..."
        return max((c for c in helps if row == c or row.startswith(c + " ")), key=len, default=None)

    by_command = {command_of(row): cell for row, cell in rows.items()}
    missing = sorted(set(helps) - set(by_command))
    unknown = sorted(row for row in rows if command_of(row) is None)
    assert not missing, f"commands in --help without a row in README's command table: {missing}"
    assert not unknown, f"README's command table has rows for commands --help does not know: {unknown}"


def test_readme_rows_name_exactly_the_options_of_help(helps):
    rows = {max((c for c in helps if row == c or row.startswith(c + " ")), key=len): cell for row, cell in _readme_rows().items()
            if any(row == c or row.startswith(c + " ") for c in helps)}
    problems = []
    for command, sections in sorted(helps.items()):
        if command not in rows:
            continue  # reported by the test above
        documented = set(OPTION.findall(rows[command][len(command):]))
        shown = _help_options(sections)
        if shown - documented:
            problems.append(f"`condainfra {command}`: README's row lacks {sorted(shown - documented)} (in --help)")
        if documented - shown:
            problems.append(f"`condainfra {command}`: README's row names {sorted(documented - shown)}, which --help does not have")
    assert not problems, "README's command table and --help disagree:\n" + "\n".join(problems)


def test_every_placeholder_is_a_word(helps):
    odd = []
    for command, sections in sorted(helps.items()):
        for entry in sections.get("Options", []) + sections.get("Arguments", []):
            for word in OPTION.sub(" ", entry).replace(",", " ").replace("/", " ").split():
                if not PLACEHOLDER.fullmatch(word):
                    odd.append(f"condainfra {command}: {entry!r}")
    assert not odd, "placeholders that are not words a user knows (give the option a metavar=):\n" + "\n".join(odd)


def test_usage_lines_name_no_hidden_argument(cli):
    result = cli("secrets", "set", "--help")
    assert result.code == 0
    usage = result.out.splitlines()[0]
    assert usage == "Usage: condainfra secrets set [OPTIONS] NAME", usage


def test_version(cli):
    from importlib.metadata import version

    result = cli("--version")
    assert result.code == 0 and result.out == f"condainfra {version('condainfra')}\n"


def test_schema_kinds_agree_in_help_error_and_readme(cli):
    from condainfra.config.schema import SCHEMAS

    kinds = "|".join(SCHEMAS)
    assert f"--kind {kinds}" in cli("schema", "--help").out
    bad = cli("schema", "--kind", "nope")
    assert bad.code == 1 and all(f"'{k}'" in bad.err for k in SCHEMAS)
    assert f"[--kind {kinds}]" in _readme_rows()["schema"]


def test_dashboard_help_says_which_folders_must_exist(cli, tmp_path):
    for command in ("refresh", "sync-users"):
        help_text = cli("dashboard", command, "--help").out
        assert "--dir" in help_text and "created on first use" not in help_text
    assert "created on first use" in cli("dashboard", "serve", "--help").out
