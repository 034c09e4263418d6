"""`previously:` compiles to aliases: each resource of a renamed team, repository or feedstock carries the
full URN it had under its old name, so the engine renames in place instead of deleting and creating."""

from __future__ import annotations

from condainfra.compiler import github as gh
from condainfra.project import Project


def compile_all(root):
    project = Project.load(root)
    return [r for s in project.stacks() if s.kind != "feedstocks" or project.feedstocks_of(s) for r in project.compile(s)]


def old_urns(root, text_before: str, text_after: str, path: str):
    """The URNs of the project before, and the aliases after, a rename written as `previously:`."""
    file = root / path
    file.write_text(text_before)
    before = {r.urn for r in compile_all(root)}
    file.write_text(text_after)
    after = compile_all(root)
    return before, after


def test_a_renamed_feedstock_keeps_every_resource(minimal):
    # both names fall in the same of the org's two shards: an alias cannot cross stacks (docs/configuration.md)
    before, after = old_urns(
        minimal, "fresh: [dave]\n", "current:\n  maintainers: [dave]\n  previously: [fresh]\n", "stacks/acme/feedstocks/a.yaml"
    )
    after_urns = {r.urn for r in after}
    aliases = {a for r in after for a in r.aliases}
    gone = before - after_urns
    # every resource of the old name is the alias of one of the new name: nothing is deleted
    assert gone and gone <= aliases
    repo = next(r for r in after if r.type == gh.REPOSITORY and r.name == "current-feedstock")
    assert repo.aliases == (repo.urn.replace("::current-feedstock", "::fresh-feedstock"),)
    assert repo.inputs["name"] == "current-feedstock"  # GitHub renames the repository in place


def test_a_renamed_team_and_repository(minimal):
    org = minimal / "stacks/acme/org.yaml"
    text = org.read_text()
    before_text = text.replace("teams:\n  core:\n", "repositories:\n  tools: {}\nteams:\n  core:\n    repositories: {tools: push}\n")
    after_text = text.replace(
        "teams:\n  core:\n",
        "repositories:\n  gadgets: {previously: [tools]}\nteams:\n  core-team:\n    previously: [core]\n    repositories: {gadgets: push}\n",
    )
    before, after = old_urns(minimal, before_text, after_text, "stacks/acme/org.yaml")
    gone = before - {r.urn for r in after}
    assert {u.rsplit("::", 1)[1] for u in gone} == {"core", "tools", "tools/core"}
    assert gone <= {a for r in after for a in r.aliases}


def test_a_name_in_previously_that_still_exists_is_an_error(cli, minimal):
    (minimal / "stacks/acme/feedstocks/a.yaml").write_text("a: [dave]\nb:\n  maintainers: [dave]\n  previously: [a]\n")
    result = cli("validate", "--root", str(minimal))
    assert result.code == 2
    assert "stacks/acme/feedstocks/a.yaml:4: feedstock 'b': previously 'a' is declared as a feedstock of its own" in result.err
