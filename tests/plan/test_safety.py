"""Safety rails refuse destructive plans unless the matching --allow flag is given."""

from __future__ import annotations

from pathlib import Path

ORG = "stacks/conda-forge/org.yaml"
FEEDS = "stacks/conda-forge/feedstocks"


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def plan(cli, root, *flags):
    return cli("plan", "--all", "--against", "HEAD", "--root", str(root), *flags)


def test_deleting_a_feedstock_repository_is_refused(cli, workdir):
    edit(workdir, f"{FEEDS}/core.yaml", "zlib: [groutr, isuruf, msarahan, ocefpaf]\n", "")
    result = plan(cli, workdir)
    assert result.code == 1
    assert "refused (conda-forge): the plan deletes 1 repository (zlib-feedstock); archive feedstocks with `archived: true` instead; pass --allow-repo-delete" in result.err
    assert "REFUSED" in result.out  # the plan is still shown to the reviewer
    assert plan(cli, workdir, "--allow-repo-delete").code == 2


def test_archiving_instead_is_fine(cli, workdir):
    edit(workdir, f"{FEEDS}/core.yaml", "zlib: [groutr, isuruf, msarahan, ocefpaf]", "zlib:\n  maintainers: [groutr, isuruf, msarahan, ocefpaf]\n  archived: true")
    assert plan(cli, workdir).code == 2


def test_removing_more_than_a_quarter_of_members_is_refused(cli, workdir):
    edit(workdir, ORG, "members: [chrisburr, h-vetinari, hmaarrfk, jdblischak, mariusvniekerk, pkgw, carterbox, msarahan, wolfv, zklaus]", "members: [chrisburr, h-vetinari]")
    result = plan(cli, workdir)
    assert result.code == 1
    assert "the plan removes 8 of 20 members (40%, more than 25%); pass --allow-member-removal" in result.err
    assert plan(cli, workdir, "--allow-member-removal").code == 2


def test_removing_a_few_members_is_fine(cli, workdir):
    edit(workdir, ORG, "members: [chrisburr, h-vetinari,", "members: [chrisburr,")
    assert plan(cli, workdir).code == 2


def test_removing_more_than_a_quarter_of_teams_is_refused(cli, workdir):
    text = (workdir / ORG).read_text()
    for first, last in (("  staged-recipes:\n", "  help-r:\n"), ("  help-python:\n", "  r:\n")):
        start, end = text.index(first), text.index(last)
        text = text[:start] + text[end:]
    (workdir / ORG).write_text(text)  # 7 of the org's 27 teams (feedstock teams included)
    result = plan(cli, workdir)
    assert result.code == 1 and "--allow-team-removal" in result.err
    assert plan(cli, workdir, "--allow-team-removal").code == 2


def test_fewer_than_two_owners_is_refused(cli, workdir):
    edit(workdir, ORG, "owners: [beckermr, isuruf, jaimergp, jakirkham, ocefpaf, xhochy]", "owners: [beckermr]")
    result = plan(cli, workdir, "--allow-member-removal")
    assert result.code == 1
    assert "the plan leaves 1 owner(s); at least 2 are required; pass --allow-few-owners" in result.err
    assert plan(cli, workdir, "--allow-member-removal", "--allow-few-owners").code == 2


def test_a_feedstock_moving_between_shards_is_not_a_deletion(cli, workdir):
    edit(workdir, ORG, "  shards: 32\n", "  shards: 40\n")
    result = plan(cli, workdir)
    # feedstocks that moved are deleted in one stack and created in another: no repository is lost
    assert "--allow-repo-delete" not in result.err
    assert result.code == 2
