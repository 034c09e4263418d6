"""Access is removed only on purpose, and the plan shows every change a merge applies (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import git

CORE = "stacks/conda-forge/feedstocks/core.yaml"
NUMPY = "numpy: [h-vetinari, isuruf, jakirkham, msarahan, ocefpaf, pelson, rgommers, xhochy]"
COMMIT = ("-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qam")


def _edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_an_emptied_maintainer_list_is_no_longer_managed_and_keeps_the_members(cli, workdir):
    # it was `- TeamMembers numpy`, accepted by every command: the provider's delete empties the team
    _edit(workdir, CORE, NUMPY, "numpy: []")
    result = cli("plan", "--all", "--against", "HEAD", "--format", "text", "--root", str(workdir))
    assert result.code == 2, result.err
    assert "(-) TeamMembers numpy: no longer managed: members kept" in result.out
    assert "- TeamMembers numpy" not in result.out and "REFUSED" not in result.out
    assert result.out.splitlines()[0].startswith("Plan: 0 to create, 0 to update, 0 to delete, 1 no longer managed (kept on GitHub)")
    report = json.loads(cli("plan", "--all", "--against", "HEAD", "--format", "json", "--root", str(workdir)).out)
    assert report["counts"]["delete"] == 0 and report["counts"]["release"] == 1
    (stack,) = [s for s in report["stacks"] if s["release"]]
    assert stack["release"][0]["type"] == "github:index/teamMembers:TeamMembers" and stack["release"][0]["name"] == "numpy"
    markdown = cli("plan", "--all", "--against", "HEAD", "--root", str(workdir)).out
    assert "| (-) | `TeamMembers` | `numpy` | no longer managed: members kept |" in markdown


def test_shortening_a_list_still_removes_exactly_who_left(cli, workdir):
    _edit(workdir, CORE, NUMPY, "numpy: [h-vetinari, isuruf, jakirkham, msarahan, ocefpaf, pelson, rgommers]")
    report = json.loads(cli("plan", "--all", "--against", "HEAD", "--format", "json", "--root", str(workdir)).out)
    (update,) = [u for s in report["stacks"] for u in s["update"]]
    assert update["name"] == "numpy" and report["counts"]["release"] == 0


def test_removing_most_members_of_a_shards_teams_is_refused_unless_allowed(cli, workdir):
    text = (workdir / CORE).read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith((" ", "#")) and line.endswith("]") and "[" in line]
    for line in lines:  # every feedstock of core.yaml keeps only its first maintainer
        name, _, logins = line.partition(": [")
        text = text.replace(line, f"{name}: [{logins.split(',')[0].rstrip(']')}]")
    (workdir / CORE).write_text(text)
    result = cli("plan", "--all", "--against", "HEAD", "--format", "text", "--root", str(workdir))
    assert result.code == 1
    # each shard is judged alone, as `up` applies it; a shard whose teams lost most members is refused
    refusals = [line for line in result.err.splitlines() if "team memberships" in line]
    assert refusals and all("pass --allow-member-removal" in line for line in refusals)
    named = {part.split(" (-")[0] for line in refusals for part in line.split(": ")[-1].split("; ")[0].split(", ")}
    assert named and named <= {line.split(":")[0] for line in lines}
    assert cli("plan", "--all", "--against", "HEAD", "--allow-member-removal", "--root", str(workdir)).code == 2


def _stack_config(root: Path, text: str) -> None:
    (root / "stacks" / "Pulumi.conda-forge.yaml").write_text(text)


CONFIG = """encryptionsalt: v1:c2FsdA==:v1:aaaa
config:
  condainfra:CF_ADMIN_GITHUB_TOKEN:
    secure: v1:{token}
  condainfra:STAGING_BINSTAR_TOKEN:
    secure: v1:c3RhZ2luZw==
  github:owner: {owner}
"""


def test_a_rotated_secret_in_a_stack_config_file_is_a_change_never_shown(cli, workdir):
    # it was `Plan: No changes` and exit 0, while apply.yml applies stacks/** on merge
    _stack_config(workdir, CONFIG.format(token="b2xkLXRva2Vu", owner="conda-forge"))
    git(workdir, "add", "stacks/Pulumi.conda-forge.yaml")
    git(workdir, *COMMIT, "stack config")
    _stack_config(workdir, CONFIG.format(token="bmV3LXRva2Vu", owner="conda-forge-test"))
    for fmt in ("text", "markdown", "json"):
        result = cli("plan", "--all", "--format", fmt, "--root", str(workdir), "--against", "HEAD")
        assert result.code == 2, result.err
        assert "b2xkLXRva2Vu" not in result.out and "bmV3LXRva2Vu" not in result.out
    text = cli("plan", "--all", "--format", "text", "--against", "HEAD", "--root", str(workdir)).out
    assert "  config: secret CF_ADMIN_GITHUB_TOKEN changed" in text
    assert '  config: github:owner: conda-forge → conda-forge-test' in text
    assert "STAGING_BINSTAR_TOKEN" not in text  # unchanged
    assert "2 stack config change(s)" in text.splitlines()[0]
    markdown = cli("plan", "--all", "--against", "HEAD", "--root", str(workdir)).out
    assert "- stack config: secret `CF_ADMIN_GITHUB_TOKEN` changed" in markdown
    report = json.loads(cli("plan", "--all", "--format", "json", "--against", "HEAD", "--root", str(workdir)).out)
    (stack,) = [s for s in report["stacks"] if s["config"]]
    assert stack["stack"] == "conda-forge"
    assert {"key": "CF_ADMIN_GITHUB_TOKEN", "action": "changed", "secret": True} in stack["config"]


def test_a_stack_config_file_that_is_not_yaml_is_one_message(cli, workdir):
    _stack_config(workdir, "config: [unclosed\n")
    result = cli("plan", "--all", "--against", "HEAD", "--root", str(workdir))
    assert result.code == 1 and "stacks/Pulumi.conda-forge.yaml:" in result.err and "Traceback" not in result.err


def test_no_default_branch_is_an_error_never_a_silent_head(cli, workdir):
    git(workdir, "branch", "-m", "main", "feature")  # no origin, no main, no master
    _edit(workdir, CORE, NUMPY, "numpy: [h-vetinari]")
    git(workdir, *COMMIT, "a real change")
    result = cli("plan", "--all", "--root", str(workdir))
    assert result.code == 1, result.out  # it said "No changes: 37 stack(s) match HEAD"
    assert "No changes" not in result.out
    assert "origin/main, origin/master, main, master" in result.err and "--against REF" in result.err and "--against FILE" in result.err


def test_the_text_report_opens_with_its_summary_and_shows_what_a_creation_grants(cli, workdir):
    (workdir / CORE).write_text((workdir / CORE).read_text() + "newpkg: [wolfv, zklaus]\n")
    result = cli("plan", "--all", "--against", "HEAD", "--format", "text", "--root", str(workdir))
    assert result.code == 2, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("Plan: 6 to create")
    at = lines.index("  + TeamMembers newpkg")
    assert "members:" in lines[at + 1] and '"username": "wolfv"' in lines[at + 1] and '"username": "zklaus"' in lines[at + 1]


def test_a_feedstock_key_ending_in_feedstock_is_a_validation_error(cli, workdir):
    (workdir / CORE).write_text((workdir / CORE).read_text() + "scipy-feedstock: [wolfv]\n")
    result = cli("validate", "--root", str(workdir))
    assert result.code == 2
    line = len((workdir / CORE).read_text().splitlines())
    assert f"{CORE}:{line}: feedstock 'scipy-feedstock': write the package name 'scipy'" in result.err


def test_one_plan_written_in_three_formats(cli, workdir, tmp_path):
    # plan.yml planned three times (7-9 s each at real scale): --also writes the same plan again
    _edit(workdir, CORE, NUMPY, "numpy: []")
    md, txt, js = tmp_path / "plan.md", tmp_path / "plan.txt", tmp_path / "plan.json"
    result = cli("plan", "--all", "--against", "HEAD", "--out", str(md), "--also", f"text={txt}", "--also", f"json={js}", "--root", str(workdir))
    assert result.code == 2, result.err
    for fmt, path in (("markdown", md), ("text", txt), ("json", js)):
        alone = cli("plan", "--all", "--against", "HEAD", "--format", fmt, "--root", str(workdir)).out
        assert path.read_text() == alone, fmt


def test_a_bad_also_is_refused_before_anything_is_written(cli, workdir, tmp_path):
    result = cli("plan", "--all", "--against", "HEAD", "--out", str(tmp_path / "a.md"), "--also", "yaml=x", "--root", str(workdir))
    assert result.code == 1 and "--also 'yaml=x': expected FORMAT=FILE" in result.err
    assert not (tmp_path / "a.md").exists()


def test_a_real_feedstock_feedstock_repository_is_accepted_once_confirmed(cli, workdir):
    # conda-forge has a few (`vouch-feedstock`, `yapss-feedstock` in its feedstock list): confirmed in full, accepted
    (workdir / CORE).write_text((workdir / CORE).read_text() + "yapss-feedstock:\n  maintainers: [wolfv]\n  repository: yapss-feedstock-feedstock\n")
    assert cli("validate", "--root", str(workdir)).code == 0
    result = cli("plan", "--all", "--against", "HEAD", "--format", "json", "--root", str(workdir))
    created = [c["name"] for s in json.loads(result.out)["stacks"] for c in s["create"]]
    assert "yapss-feedstock-feedstock" in created
    (workdir / CORE).write_text((workdir / CORE).read_text().replace("repository: yapss-feedstock-feedstock", "repository: other"))
    result = cli("validate", "--root", str(workdir))
    assert result.code == 2 and "repository 'other' is not its repository 'yapss-feedstock-feedstock'" in result.err
