"""Every kind of bad input: one `path:line: message` per problem, exit 2 from validate, 1 elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

ORG = "stacks/acme/org.yaml"
FEED = "stacks/acme/feedstocks"


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def assert_reported(cli, root: Path, expected: list[str]) -> None:
    result = cli("validate", "--root", str(root))
    assert result.code == 2, result.err
    for line in expected:
        assert line in result.err, f"{line!r} not in:\n{result.err}"
    assert "Traceback" not in result.err
    planned = cli("plan", "--all", "--from-scratch", "--root", str(root))
    assert planned.code == 1
    for line in expected:
        assert line in planned.err
    assert planned.out == ""


def test_yaml_syntax_error(cli, minimal):
    write(minimal, f"{FEED}/a.yaml", "numpy: [alice, bob\nscipy: [carol]\n")
    assert_reported(cli, minimal, [f"{FEED}/a.yaml:2: YAML syntax error"])


def test_unknown_key(cli, minimal):
    text = (minimal / ORG).read_text().replace("  core:\n", "  core:\n    colour: blue\n")
    write(minimal, ORG, text)
    assert_reported(cli, minimal, [f"{ORG}:8: teams.core: unknown key 'colour'"])


def test_wrong_type(cli, minimal):
    text = (minimal / ORG).read_text().replace("feedstocks:\n  shards: 2\n", "feedstocks:\n  shards: many\n")
    write(minimal, ORG, text)
    assert_reported(cli, minimal, [f"{ORG}:10: feedstocks.shards: Input should be a valid integer"])


def test_missing_required_key(cli, minimal):
    text = (minimal / ORG).read_text().replace("owners: [alice, bob]\n", "")
    write(minimal, ORG, text)
    assert_reported(cli, minimal, [f"{ORG}:1: missing required key 'owners'"])


def test_duplicate_feedstock_in_one_file(cli, minimal):
    write(minimal, f"{FEED}/a.yaml", "numpy: [alice]\nscipy: [bob]\nnumpy: [carol]\n")
    assert_reported(cli, minimal, [f"{FEED}/a.yaml:3: duplicate key 'numpy'"])


def test_duplicate_feedstock_across_files(cli, minimal):
    write(minimal, f"{FEED}/a.yaml", "numpy: [alice]\n")
    write(minimal, f"{FEED}/b.yaml", "scipy: [bob]\nnumpy: [carol]\n")
    assert_reported(cli, minimal, [f"{FEED}/b.yaml:2: feedstock 'numpy' is already declared at {FEED}/a.yaml:1"])


def test_undeclared_team_reference(cli, minimal):
    write(minimal, f"{FEED}/a.yaml", "numpy:\n  maintainers:\n    - alice\n    - acme/ghosts\n")
    assert_reported(cli, minimal, [f"{FEED}/a.yaml:4: feedstock 'numpy': team 'acme/ghosts' is neither declared"])


def test_team_reference_to_another_org_and_an_email_are_warnings_not_grants(minimal):
    # recipes list both (bioconda's data has `RECETOX/conda` and addresses): kept, reported, granted nothing
    from condainfra.compiler import github as gh
    from condainfra.project import Project

    write(minimal, f"{FEED}/a.yaml", "numpy:\n  - alice\n  - other-org/core\n  - Some One <someone@example.org>\n")
    project = Project.load(minimal)
    warnings = [str(w) for w in project.orgs["acme"].warnings]
    assert f"{FEED}/a.yaml:3: feedstock 'numpy': 'other-org/core' is a team of another org; GitHub grants only 'acme''s teams access, so it is granted nothing" in warnings
    assert f"{FEED}/a.yaml:4: feedstock 'numpy': 'Some One <someone@example.org>' is an e-mail address, not a GitHub account; it is granted nothing" in warnings
    resources = [r for s in project.stacks() if s.kind == "feedstocks" for r in project.compile(s)]
    assert [r.name for r in resources if r.type == gh.TEAM_REPOSITORY] == ["numpy-feedstock/numpy"]
    members = next(r for r in resources if r.type == gh.TEAM_MEMBERS).inputs["members"]
    assert [m["username"] for m in members] == ["alice"]


def test_undeclared_parent_team(cli, minimal):
    text = (minimal / ORG).read_text().replace("  core:\n", "  core:\n    parent: nobody\n")
    write(minimal, ORG, text)
    assert_reported(cli, minimal, [f"{ORG}:8: teams.core.parent: team 'nobody' is not declared"])


def test_invalid_maintainer_login(cli, minimal):
    write(minimal, f"{FEED}/a.yaml", "numpy: [alice]\nscipy:\n  - bob\n  - not a login\n")
    assert_reported(cli, minimal, [f"{FEED}/a.yaml:4: scipy.1: 'not a login' is not a valid GitHub login"])


@pytest.mark.parametrize("login", ["-leading", "trailing-", "double--hyphen", "x" * 40, "someone@", "<a@b>"])
def test_logins_github_would_refuse(cli, minimal, login):
    write(minimal, f"{FEED}/a.yaml", f"numpy: ['{login}']\n")
    assert_reported(cli, minimal, [f"{FEED}/a.yaml:1: numpy.0: '{login}' is not a valid GitHub login"])


def test_feedstock_maintainers_need_not_be_members(cli, minimal):
    write(minimal, f"{FEED}/a.yaml", "numpy: [dave, erin]\n")
    assert cli("validate", "--root", str(minimal)).code == 0


def test_every_error_is_reported_not_only_the_first(cli, minimal):
    write(minimal, f"{FEED}/a.yaml", "numpy: [alice, 'bad login']\n")
    write(minimal, f"{FEED}/b.yaml", "numpy: [bob]\nscipy: [acme/nope]\n")
    text = (minimal / ORG).read_text().replace("members: [carol]\n", "members: [carol, alice]\n")
    write(minimal, ORG, text)
    result = cli("validate", "--root", str(minimal))
    assert result.code == 2
    assert "4 problem(s)" in result.err
    assert f"{ORG}:5: members: 'alice' is already listed in owners" in result.err
    assert f"{FEED}/a.yaml:1: numpy.1: 'bad login' is not a valid GitHub login" in result.err
    assert f"{FEED}/b.yaml:2: feedstock 'scipy': team 'acme/nope'" in result.err


def test_feedstocks_without_a_feedstocks_section(cli, minimal):
    text = (minimal / ORG).read_text().replace("feedstocks:\n  shards: 2\n", "")
    write(minimal, ORG, text)
    write(minimal, f"{FEED}/a.yaml", "numpy: [alice]\n")
    assert_reported(cli, minimal, [f"{FEED}/a.yaml:1: feedstocks are declared but acme/org.yaml has no 'feedstocks:' section"])


def test_bad_input_writes_nothing(cli, minimal, tmp_path):
    write(minimal, f"{FEED}/a.yaml", "numpy: [alice\n")
    out = tmp_path / "plan.md"
    for command in (["plan", "--all", "--from-scratch"], ["render", "--all"]):
        result = cli(*command, "--out", str(out), "--root", str(minimal))
        assert result.code == 1
        assert not out.exists()
        assert list(tmp_path.glob(".plan.md*")) == []


def test_yaml_booleans_do_not_turn_names_into_bools(cli, minimal):
    # YAML 1.1 reads `yes`/`on` as booleans; a feedstock of that name must stay a name.
    write(minimal, f"{FEED}/a.yaml", "yes: [alice]\non: [bob]\n")
    result = cli("render", "--all", "--root", str(minimal))
    assert result.code == 0, result.err
    assert '"yes-feedstock"' in result.out and '"on-feedstock"' in result.out


@pytest.mark.parametrize(
    ("text", "line", "where"),
    [("numpy: [alice, Alice]\n", 1, "numpy"), ("numpy:\n  maintainers: [alice, bob, ALICE]\n  archived: true\n", 2, "numpy")],
)
def test_maintainer_listed_twice_as_a_plain_list_or_a_mapping(cli, minimal, text, line, where):
    write(minimal, f"{FEED}/a.yaml", text)
    assert_reported(cli, minimal, [f"{FEED}/a.yaml:{line}: {where}: maintainer "])
    assert "is listed twice" in cli("validate", "--root", str(minimal)).err


def test_plain_list_and_mapping_load_to_the_same_feedstock(minimal):
    # most entries take the loader's short way (a plain list of valid maintainers), the rest the model's
    from condainfra.project import Project

    write(minimal, f"{FEED}/a.yaml", "numpy: [alice, acme/core]\nscipy:\n  maintainers: [alice, acme/core]\nempty: []\n")
    feedstocks = Project.load(minimal).orgs["acme"].feedstocks
    assert feedstocks["numpy"] == feedstocks["scipy"].model_copy(update={"name": "numpy"})
    assert feedstocks["numpy"].maintainers == ("alice", "acme/core")
    assert feedstocks["empty"].maintainers == () and feedstocks["empty"].previously == ()


def test_a_plain_list_item_that_is_not_text_is_the_models_error(cli, minimal):
    write(minimal, f"{FEED}/a.yaml", "numpy: [alice, [bob]]\n")
    assert_reported(cli, minimal, [f"{FEED}/a.yaml:1: numpy.1: Input should be a valid string"])


@pytest.mark.parametrize("name", ["BINSTAR_TOKEN\n", "BINSTAR_TOKEN\r\n", "BINSTAR\nTOKEN"])
def test_a_secret_name_with_a_newline_is_refused(name):
    # issue 17: `secrets set` checked the name with re.match, whose `$` also matches before a final newline
    from condainfra.engine.secrets import check_name
    from condainfra.errors import CondainfraError

    check_name("BINSTAR_TOKEN")
    with pytest.raises(CondainfraError, match="use letters, digits"):
        check_name(name)


def test_a_secret_key_with_a_trailing_newline_is_refused_by_validate(cli, minimal):
    write(minimal, ORG, (minimal / ORG).read_text() + 'secrets:\n  "TOKEN\\n":\n    visibility: all\n')
    assert_reported(cli, minimal, [f"{ORG}:11: secrets: 'TOKEN\\n' is not a valid Actions secret name"])  # the model's fullmatch: it held
