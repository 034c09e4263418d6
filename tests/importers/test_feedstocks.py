"""`condainfra import feedstocks`: feedstock-outputs and recipe maintainers into feedstock files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from condainfra.config.loader import load_orgs
from condainfra.importers.writer import GENERATED_MARK, generated_file

HAND_WRITTEN = """\
# yaml-language-server: $schema=../../../docs/schemas/feedstocks.schema.json
# Hand-kept: the core tools. This comment must survive an import.
numpy: [alice, bob]  # numpy's own comment
old-tool:
  maintainers: [carol]
  archived: true
"""


def feedstock_dir(root: Path) -> Path:
    return root / "stacks" / "acme" / "feedstocks"


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under stacks/, by path: to tell that a refused import wrote nothing."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "stacks").rglob("*")) if p.is_file()}


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, Path]:
    outputs = write_json(tmp_path / "outputs.json", {
        "numpy": ["numpy"], "numpy-base": ["numpy"], "zlib": ["zlib"], "libzlib": ["zlib"],
        "scipy": ["scipy"], "7zip": ["7zip"], "yes": ["yes"], "_private": ["_private"], "Old-Caps": ["Old-Caps"],
    })
    maintainers = write_json(tmp_path / "maintainers.json", {
        "numpy": ["rgommers", "alice", "Bob"], "zlib": ["groutr"], "scipy": ["acme/core", "carol"], "new-thing": ["dave"],
    })
    return outputs, maintainers


def run_import(cli, root: Path, outputs: Path, maintainers: Path | None = None, *more: str):
    args = ["import", "feedstocks", "--outputs", str(outputs), "--org", "acme", "--root", str(root), *more]
    if maintainers is not None:
        args += ["--maintainers", str(maintainers)]
    return cli(*args)


def test_import_writes_sorted_letter_files_that_the_loader_accepts(cli, minimal, sources):
    result = run_import(cli, minimal, *sources)
    assert result.code == 0, result.err
    files = sorted(p.name for p in feedstock_dir(minimal).iterdir())
    assert files == ["0-9.yaml", "_.yaml", "n.yaml", "o.yaml", "s.yaml", "y.yaml", "z.yaml"]
    n = (feedstock_dir(minimal) / "n.yaml").read_text()
    assert n.splitlines()[1].startswith(GENERATED_MARK)
    # sorted entries, maintainers sorted case-folded; one without known maintainers kept with []
    assert n.splitlines()[2:] == ["new-thing: [dave]", "numpy: [alice, Bob, rgommers]"]
    assert (feedstock_dir(minimal) / "y.yaml").read_text().endswith("'yes': []\n")  # a YAML boolean word stays a string
    assert "Old-Caps: []" in (feedstock_dir(minimal) / "o.yaml").read_text()
    org = load_orgs(minimal / "stacks", minimal)["acme"]
    assert org.feedstocks["numpy"].maintainers == ("alice", "Bob", "rgommers")
    assert org.feedstocks["scipy"].maintainers == ("acme/core", "carol")
    assert org.feedstocks["7zip"].maintainers == ()
    assert org.feedstocks["yes"].maintainers == ()
    assert set(org.feedstocks) == {"numpy", "zlib", "scipy", "7zip", "yes", "_private", "Old-Caps", "new-thing"}
    assert "8 feedstock(s) in the sources" in result.out and "8 added" in result.out


def test_second_run_is_byte_identical(cli, minimal, sources):
    assert run_import(cli, minimal, *sources).code == 0
    first = snapshot(minimal)
    again = run_import(cli, minimal, *sources)
    assert again.code == 0 and "0 file(s) written" in again.out
    assert snapshot(minimal) == first


def test_one_change_rewrites_only_its_file(cli, minimal, sources, tmp_path):
    outputs, maintainers = sources
    assert run_import(cli, minimal, outputs, maintainers).code == 0
    first = snapshot(minimal)
    data = json.loads(maintainers.read_text())
    data["zlib"] = ["groutr", "isuruf"]
    write_json(maintainers, data)
    result = run_import(cli, minimal, outputs, maintainers)
    assert result.code == 0 and "1 changed" in result.out
    after = snapshot(minimal)
    changed = sorted(k for k in after if after[k] != first.get(k))
    assert changed == ["stacks/acme/feedstocks/z.yaml"]
    assert "zlib: [groutr, isuruf]" in after[changed[0]].decode()


def test_hand_written_file_keeps_comments_and_entries_and_archived(cli, minimal, sources):
    (feedstock_dir(minimal) / "core.yaml").write_text(HAND_WRITTEN)
    outputs, maintainers = sources
    old_tool = write_json(outputs.parent / "outputs2.json", {**json.loads(outputs.read_text()), "old-tool": ["old-tool"]})
    assert run_import(cli, minimal, old_tool, maintainers).code == 0
    text = (feedstock_dir(minimal) / "core.yaml").read_text()
    # numpy stays where a person put it, updated in place, both comments kept; old-tool untouched
    # (ruamel keeps the comment on its line; the gap before it may change)
    expected = HAND_WRITTEN.replace("numpy: [alice, bob]  #", "numpy: [alice, Bob, rgommers] #")
    assert [" ".join(line.split()) for line in text.splitlines()] == [" ".join(line.split()) for line in expected.splitlines()]
    assert "numpy" not in (feedstock_dir(minimal) / "n.yaml").read_text()
    org = load_orgs(minimal / "stacks", minimal)["acme"]
    assert org.feedstocks["old-tool"].archived is True and org.feedstocks["old-tool"].maintainers == ("carol",)


def test_archived_flag_and_unknown_keys_survive_in_generated_files(cli, minimal, sources):
    outputs, maintainers = sources
    assert run_import(cli, minimal, outputs, maintainers).code == 0
    z = feedstock_dir(minimal) / "z.yaml"
    z.write_text(z.read_text().replace("zlib: [groutr]", "zlib:\n  maintainers: [groutr]\n  archived: true"))
    assert run_import(cli, minimal, outputs, maintainers).code == 0
    assert z.read_text().endswith("zlib:\n  archived: true\n  maintainers: [groutr]\n")
    assert load_orgs(minimal / "stacks", minimal)["acme"].feedstocks["zlib"].archived is True


def test_feedstock_no_longer_in_the_sources_is_kept(cli, minimal, sources, tmp_path):
    outputs, maintainers = sources
    assert run_import(cli, minimal, outputs, maintainers).code == 0
    smaller = write_json(tmp_path / "smaller.json", {"numpy": ["numpy"]})
    result = run_import(cli, minimal, smaller, maintainers)
    assert result.code == 0
    assert "kept as written" in result.err
    assert "zlib" in load_orgs(minimal / "stacks", minimal)["acme"].feedstocks


def test_outputs_folder_as_in_feedstock_outputs(cli, minimal, tmp_path):
    folder = tmp_path / "outputs"
    for output, feedstocks in {"numpy": ["numpy"], "numpy-base": ["numpy"], "libzlib": ["zlib"], "py": ["py", "pylib"]}.items():
        shard = folder.joinpath(*[c for c in output if c.isalnum()][:3])
        shard.mkdir(parents=True, exist_ok=True)
        write_json(shard / f"{output}.json", {"feedstocks": feedstocks})
    result = run_import(cli, minimal, folder)
    assert result.code == 0, result.err
    assert set(load_orgs(minimal / "stacks", minimal)["acme"].feedstocks) == {"numpy", "zlib", "py", "pylib"}


def test_hostile_names_are_left_out_and_reported(cli, minimal, tmp_path):
    outputs = write_json(tmp_path / "o.json", {"a": ["../../etc/passwd", "ok-name", "bad\nname", "-flag"]})
    maintainers = write_json(tmp_path / "m.json", {"ok-name": ["alice", "not a login!", "x/y/z"], "../up": ["alice"]})
    result = run_import(cli, minimal, outputs, maintainers)
    assert result.code == 0, result.err
    assert "'../../etc/passwd' is not a feedstock name" in result.err and "'bad\\nname'" in result.err
    assert "'not a login!' is not a maintainer" in result.err and "'x/y/z' is not a maintainer" in result.err
    assert sorted(p.name for p in (minimal / "stacks" / "acme").rglob("*") if p.is_file()) == ["o.yaml", "org.yaml"]
    assert load_orgs(minimal / "stacks", minimal)["acme"].feedstocks["ok-name"].maintainers == ("alice",)


@pytest.mark.parametrize("broken", ["{\"numpy\": [\"numpy\"", "[1, 2]", "{\"numpy\": \"numpy\"}"])
def test_malformed_outputs_exit_2_naming_the_file_nothing_written(cli, minimal, sources, tmp_path, broken):
    before = snapshot(minimal)
    bad = tmp_path / "bad-outputs.json"
    bad.write_text(broken)
    result = run_import(cli, minimal, bad, sources[1])
    assert result.code == 2
    assert str(bad) in result.err and "Traceback" not in result.err
    assert snapshot(minimal) == before


def test_malformed_file_inside_outputs_folder(cli, minimal, tmp_path):
    folder = tmp_path / "outputs" / "n" / "u" / "m"
    folder.mkdir(parents=True)
    write_json(folder / "numpy.json", {"feedstocks": ["numpy"]})
    (folder / "numba.json").write_text("{\"feedstocks\": [\"numba\",]}")
    before = snapshot(minimal)
    result = run_import(cli, minimal, tmp_path / "outputs")
    assert result.code == 2 and "numba.json:1: not valid JSON" in result.err
    assert snapshot(minimal) == before


def test_feedstock_listed_twice_with_different_maintainers(cli, minimal, sources, tmp_path):
    outputs, _ = sources
    twice = tmp_path / "twice.json"
    twice.write_text('{\n "numpy": ["alice"],\n "zlib": ["groutr"],\n "numpy": ["mallory"]\n}\n')
    before = snapshot(minimal)
    result = run_import(cli, minimal, outputs, twice)
    assert result.code == 2
    assert f"{twice}:4: 'numpy' is listed twice, with different values" in result.err
    assert snapshot(minimal) == before
    # the same maintainers twice (in another order) say one thing: accepted
    twice.write_text('{"numpy": ["alice", "bob"], "numpy": ["bob", "alice"]}')
    assert run_import(cli, minimal, outputs, twice).code == 0


def test_comment_in_generated_file_is_refused(cli, minimal, sources):
    assert run_import(cli, minimal, *sources).code == 0
    z = feedstock_dir(minimal) / "z.yaml"
    z.write_text(z.read_text() + "# keep zlib pinned\n")
    before = snapshot(minimal)
    result = run_import(cli, minimal, *sources)
    assert result.code == 1 and "z.yaml:4: a comment in a file that `condainfra import` writes would be lost" in result.err
    assert snapshot(minimal) == before


def test_hand_written_file_with_a_letter_name_is_refused(cli, minimal, sources):
    (feedstock_dir(minimal) / "z.yaml").write_text("zstd: [alice]\n")
    before = snapshot(minimal)
    result = run_import(cli, minimal, *sources)
    assert result.code == 1 and "hand-written file has the name" in result.err
    assert snapshot(minimal) == before


def test_broken_existing_feedstock_file_exit_2(cli, minimal, sources):
    (feedstock_dir(minimal) / "core.yaml").write_text("numpy: [alice\n")
    result = run_import(cli, minimal, *sources)
    assert result.code == 2 and "core.yaml:" in result.err and "YAML syntax error" in result.err


def test_result_that_does_not_validate_is_written_with_a_warning(cli, minimal, tmp_path):
    # two feedstocks with one team slug: the import says so (validate refuses it), and writes
    outputs = write_json(tmp_path / "o.json", {"pdfminer.six": ["pdfminer.six"], "pdfminer-six": ["pdfminer-six"]})
    result = run_import(cli, minimal, outputs)
    assert result.code == 0
    assert "does not validate yet (1 problem(s))" in result.err and "p.yaml:" in result.err and "pdfminer" in result.err
    assert "pdfminer.six" in (feedstock_dir(minimal) / "p.yaml").read_text()


def test_no_staging_folder_is_left_behind(cli, minimal, sources, tmp_path):
    assert run_import(cli, minimal, *sources).code == 0
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert run_import(cli, minimal, bad).code == 2
    assert not [p for p in (minimal / "stacks" / "acme").iterdir() if p.name.startswith(".import-")]


def test_generated_file_layout_depends_on_the_name_only():
    assert [generated_file(n) for n in ("numpy", "Numpy", "7zip", "_x", "zlib")] == ["n.yaml", "n.yaml", "0-9.yaml", "_.yaml", "z.yaml"]


def test_shipped_org_with_thousands_of_imported_feedstocks_validates(cli, workdir, tmp_path):
    # names of the real list's shape (generated: the tests run without ../shared), none of them a
    # declared team's slug, with maintainers for some, and the shipped hand-written files beside them
    names = [f"{stem}{i}" for i in range(3000) for stem in ("py-", "r-")][:5000] + ["numpy", "jax"]
    outputs = write_json(tmp_path / "o.json", {n: [n] for n in names})
    maintainers = write_json(tmp_path / "m.json", {f"py-{i}": ["alice", f"dev-{i}"] for i in range(0, 3000, 7)} | {"jax": ["ngam", "conda-forge/core"]})
    result = cli("import", "feedstocks", "--outputs", str(outputs), "--maintainers", str(maintainers), "--root", str(workdir))
    assert result.code == 0, result.err
    assert "does not validate" not in result.err
    assert cli("validate", "--root", str(workdir)).code == 0
    org = load_orgs(workdir / "stacks", workdir)["conda-forge"]
    assert org.feedstocks["py-7"].maintainers == ("alice", "dev-7")
    assert org.feedstocks["jax"].maintainers == ("conda-forge/core", "ngam")  # updated in the shipped community.yaml
    assert org.feedstocks["anyjson"].archived  # a shipped archived entry, not in the sources: kept
    changed = [line for line in (workdir / "stacks/conda-forge/feedstocks/community.yaml").read_text().splitlines() if line.startswith("jax:")]
    assert changed == ["jax: [conda-forge/core, ngam]"]


def test_links_in_the_outputs_folder_are_not_followed(cli, minimal, tmp_path):
    folder = tmp_path / "outputs" / "n" / "u" / "m"
    folder.mkdir(parents=True)
    write_json(folder / "numpy.json", {"feedstocks": ["numpy"]})
    elsewhere = write_json(tmp_path / "elsewhere.json", {"feedstocks": ["intruder"]})
    (folder / "numba.json").symlink_to(elsewhere)
    (tmp_path / "outputs" / "x").symlink_to(tmp_path, target_is_directory=True)
    result = run_import(cli, minimal, tmp_path / "outputs")
    assert result.code == 0, result.err
    assert "numba.json: not a regular file: left out" in result.err
    assert set(load_orgs(minimal / "stacks", minimal)["acme"].feedstocks) == {"numpy"}


def test_feedstocks_named_like_declared_teams_validate_beside_the_shipped_org(cli, workdir, tmp_path):
    # conda-forge's r, cuda and staged-recipes: the feedstock uses the team org.yaml declares
    outputs = write_json(tmp_path / "o.json", {"r-base": ["r"], "cuda": ["cuda"], "staged-recipes": ["staged-recipes"]})
    result = cli("import", "feedstocks", "--outputs", str(outputs), "--root", str(workdir))
    assert result.code == 0, result.err
    assert "does not validate" not in result.err
    assert cli("validate", "--root", str(workdir)).code == 0
    assert {"r", "cuda", "staged-recipes"} <= set(load_orgs(workdir / "stacks", workdir)["conda-forge"].feedstocks)


def test_an_org_without_a_feedstocks_section_is_refused_nothing_written(cli, workdir, sources):
    """bioconda keeps its recipes in one repository: its org.yaml has no feedstocks: section."""
    before = snapshot(workdir)
    result = cli("import", "feedstocks", "--outputs", str(sources[0]), "--maintainers", str(sources[1]), "--org", "bioconda", "--root", str(workdir))
    assert result.code == 2, result.out
    assert "stacks/bioconda/org.yaml:1: no 'feedstocks:' section" in result.err and "Traceback" not in result.err
    assert snapshot(workdir) == before and not (workdir / "stacks/bioconda/feedstocks").exists()


def test_an_org_not_declared_is_refused(cli, minimal, sources):
    before = snapshot(minimal)
    result = cli("import", "feedstocks", "--outputs", str(sources[0]), "--org", "nobody", "--root", str(minimal))
    assert result.code == 2
    assert "stacks/nobody/org.yaml: no such file" in result.err
    assert snapshot(minimal) == before and not (minimal / "stacks/nobody").exists()


# --- issue 17: sources are bounded in size and depth; the target folder and the moves are the import's own


def test_an_outputs_file_over_the_size_cap_is_refused_before_it_is_read(cli, minimal, sources, tmp_path):
    # a 500 MB file took 1.6 GB; one just over the cap was read whole and imported
    from condainfra.importers.sources import MAX_SOURCE_BYTES

    big = tmp_path / "big.json"
    entry = '"numpy-output-%08d": ["numpy"], '
    with big.open("w") as handle:
        handle.write("{" + "".join(entry % i for i in range(MAX_SOURCE_BYTES // 30 + 1)) + '"numpy": ["numpy"]}')
    before = snapshot(minimal)
    result = run_import(cli, minimal, big, sources[1])
    assert result.code == 2 and f"error: {big}: " in result.err and "more than the 16 MiB such a file may hold" in result.err, result.err
    assert snapshot(minimal) == before


@pytest.mark.parametrize("which", ["outputs", "maintainers"])
def test_json_nested_100000_deep_is_one_clear_error(cli, minimal, sources, tmp_path, which):
    deep = tmp_path / "deep.json"
    deep.write_text('{"numpy": ' + "[" * 100_000 + "]" * 100_000 + "}")
    outputs, maintainers = (deep, sources[1]) if which == "outputs" else (sources[0], deep)
    result = run_import(cli, minimal, outputs, maintainers)
    assert result.code == 2 and f"error: {deep}: JSON nested deeper than 64 levels" in result.err, result.err


def test_a_fifo_as_a_source_is_refused_not_waited_on(cli, minimal, sources, tmp_path):
    import os

    os.mkfifo(tmp_path / "fifo.json")  # was: the import waited for a writer forever
    result = run_import(cli, minimal, sources[0], tmp_path / "fifo.json")
    assert result.code == 2 and f"{tmp_path / 'fifo.json'}: not a regular file" in result.err, result.err


@pytest.mark.parametrize("linked", ["feedstocks", "org"])
def test_a_linked_target_folder_is_refused_and_nothing_outside_is_touched(cli, minimal, sources, tmp_path, linked):
    # was: the import followed the link, read the files there and wrote beside them, outside the checkout
    import shutil

    outside = tmp_path / "outside"
    if linked == "feedstocks":
        feedstock_dir(minimal).rmdir()
        (outside / "feedstocks").mkdir(parents=True)
        (outside / "feedstocks" / "n.yaml").write_text("numpy: [mallory]\n")
        feedstock_dir(minimal).symlink_to(outside / "feedstocks", target_is_directory=True)
        shown = "stacks/acme/feedstocks"
    else:
        shutil.move(minimal / "stacks" / "acme", outside)
        (minimal / "stacks" / "acme").symlink_to(outside, target_is_directory=True)
        shown = "stacks/acme/feedstocks"
    before = {p: p.read_bytes() for p in outside.rglob("*") if p.is_file()}
    result = run_import(cli, minimal, *sources)
    assert result.code == 1, result.err
    assert f"error: {shown}: reached through a link; the import reads and writes only the checkout's own folders" in result.err
    assert {p: p.read_bytes() for p in outside.rglob("*") if p.is_file()} == before


def test_a_move_that_fails_puts_back_every_file_moved_before_it(cli, minimal, sources):
    # was: n.yaml and s.yaml replaced, then `internal error: PermissionError` at z.yaml; docs/importing.md
    # promises nothing is written on error. The failure is real: z.yaml made immutable (chattr +i, root).
    import subprocess

    outputs, maintainers = sources
    assert run_import(cli, minimal, outputs, maintainers).code == 0
    write_json(maintainers, {"numpy": ["alice"], "scipy": ["carol"], "zlib": ["isuruf"], "new-thing": ["dave"]})
    z = feedstock_dir(minimal) / "z.yaml"
    if subprocess.run(["chattr", "+i", str(z)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i needs root and a file system with the immutable flag (ext4 here and in CI)")
    try:
        before = snapshot(minimal)
        result = run_import(cli, minimal, outputs, maintainers)
    finally:
        subprocess.run(["chattr", "-i", str(z)], check=True)
    assert result.code == 1, result.err
    assert "error: stacks/acme/feedstocks/z.yaml: cannot write: Operation not permitted; nothing was written" in result.err
    assert snapshot(minimal) == before  # n.yaml and s.yaml, moved before z.yaml, are back as they were
    assert not [p for p in (minimal / "stacks" / "acme").iterdir() if p.name.startswith(".import-")]
    # and once the file may be written, the same import goes through
    assert run_import(cli, minimal, outputs, maintainers).code == 0
    assert "zlib: [isuruf]" in z.read_text() and "numpy: [alice]" in (feedstock_dir(minimal) / "n.yaml").read_text()


def test_a_feedstock_file_name_holding_a_newline_is_echoed_escaped(cli, minimal, sources, tmp_path):
    forged = "acme:1: all checks passed"  # no '/': a file name
    odd = feedstock_dir(minimal) / f"x\n{forged}\n.yaml"
    odd.symlink_to(tmp_path / "elsewhere.yaml")  # refused as not a regular file, with its name in the message
    result = run_import(cli, minimal, *sources)
    assert result.code == 1 and f"error: stacks/acme/feedstocks/x\\n{forged}\\n.yaml: not a regular file" in result.err, result.err
    assert not any(line.startswith(forged) for line in result.err.splitlines())
