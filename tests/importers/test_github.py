"""`condainfra import github`, against a stand-in for the GitHub REST API (github_stand_in, a mock
of GitHub served on 127.0.0.1): pagination, ETags, rate limits, a lost network, no secret written."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from condainfra.config.loader import load_orgs
from tests.importers.github_stand_in import SECRET_VALUE, TOKEN, StandIn, acme


@pytest.fixture
def github():
    """The stand-in GitHub on a free port of 127.0.0.1, stopped after the test."""
    server = StandIn(acme(extra_members=250)).start()
    yield server
    server.stop()


@pytest.fixture
def token(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    """A project with no org declared yet."""
    root = tmp_path / "fresh"
    (root / "stacks").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: condainfra\nruntime: python\nstackConfigDir: stacks\n")
    return root


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and "Pulumi.yaml" not in p.name}


def stacks(root: Path) -> dict[str, bytes]:
    return {k: v for k, v in files(root).items() if k.startswith("stacks/")}


def run(cli, root: Path, github: StandIn, *more: str):
    return cli("import", "github", "--org", "acme", "--api-url", github.url, "--root", str(root), *more)


def test_fresh_import_writes_a_config_the_loader_accepts(cli, empty, github, token):
    result = run(cli, empty, github)
    assert result.code == 0, result.err
    org = load_orgs(empty / "stacks", empty)["acme"]
    cfg = org.config
    assert cfg.settings.billing_email == "admin@acme.example" and cfg.settings.repository_creation == "owners"
    assert cfg.owners == ["alice", "bob"]
    # three pages of 100 members by cursor, one of repositories, one of teams: one bulk read of 5 points
    assert len(cfg.members) == 253 and "user249" in cfg.members
    assert (github.behaviour.queries, github.behaviour.points) == (5, 5)
    assert set(cfg.teams) == {"core", "reviewers"}  # numpy and zlib are the feedstocks' own teams
    assert cfg.teams["core"].maintainers == ["alice"] and cfg.teams["core"].members == ["bob", "carol"]
    assert cfg.teams["core"].repositories == {"website": "admin"}
    assert cfg.teams["reviewers"].parent == "core" and cfg.teams["reviewers"].repositories == {"website": "triage"}
    # a repository new to the config: reference-only, grantable, never changed by `up` ...
    assert set(cfg.repositories) == {"website", "tools"} and cfg.repositories["tools"].manage is False
    # ... unless an org secret is scoped to it, which takes a managed one
    assert cfg.repositories["website"].manage and cfg.repositories["website"].features.has_wiki is True
    assert cfg.repositories["website"].topics == ["web"]
    # every setting GitHub shows is written out, false ones too (what is not written is not managed)
    written = cfg.settings.model_fields_set
    assert {"two_factor_required", "default_member_permission", "web_commit_signoff_required", "has_repository_projects", "name", "location"} <= written
    assert cfg.settings.has_repository_projects is False and cfg.settings.name == "Acme"
    assert cfg.teams["core"].model_fields_set >= {"privacy", "description"}
    assert cfg.secrets["DEPLOY_TOKEN"].visibility == "selected" and cfg.secrets["DEPLOY_TOKEN"].repositories == ["website"]
    assert cfg.secrets["ANACONDA_TOKEN"].visibility == "private"
    fs = org.feedstocks
    assert fs["numpy"].maintainers == ("alice", "carol", "Dave") and not fs["numpy"].archived
    assert fs["zlib"].archived and fs["zlib"].maintainers == ("carol",)
    assert fs["scipy"].maintainers == ("acme/core",)  # core's push on scipy-feedstock: an org/team maintainer
    assert all(headers.get("authorization") == f"Bearer {TOKEN}" for _, headers in github.behaviour.requests)


def test_no_secret_value_and_no_token_is_written_anywhere(cli, empty, github, token):
    assert run(cli, empty, github).code == 0
    written = files(empty)
    assert any(k.startswith(".condainfra/cache/github/") for k in written)  # the ETag cache is there ...
    for path, data in written.items():  # ... and neither it nor the config holds the token or a value
        assert SECRET_VALUE.encode() not in data, path
        assert TOKEN.encode() not in data, path


def test_second_run_is_byte_identical_and_asks_with_etags(cli, empty, github, token):
    assert run(cli, empty, github).code == 0
    first = stacks(empty)
    before = len(github.behaviour.requests)
    again = run(cli, empty, github)
    assert again.code == 0 and "0 file(s) written" in again.out
    asked = [(path, headers) for path, headers in github.behaviour.requests[before:] if path != "/graphql"]
    assert asked and all("if-none-match" in headers for _, headers in asked)  # every REST read is conditional
    assert f"{len(asked)} unchanged (304)" in again.out
    assert github.behaviour.queries == 10  # the bulk read's 5 queries, twice (GraphQL has no ETags)
    assert stacks(empty) == first


def test_a_change_on_github_changes_only_its_lines(cli, empty, github, token):
    assert run(cli, empty, github).code == 0
    first = stacks(empty)
    github.data.team_members["numpy"]["member"].append("erin")
    assert run(cli, empty, github).code == 0
    after = stacks(empty)
    assert [k for k in after if after[k] != first.get(k)] == ["stacks/acme/feedstocks/n.yaml"]
    assert b"numpy: [alice, carol, Dave, erin]" in after["stacks/acme/feedstocks/n.yaml"]


def test_merge_keeps_comments_bots_and_keys_it_does_not_read(cli, minimal, github, token):
    org_yaml = minimal / "stacks" / "acme" / "org.yaml"
    org_yaml.write_text(
        "# Acme, by hand. This comment stays.\n"
        + org_yaml.read_text().replace("members: [carol]\n", "members: [carol]\nbots: [acme-bot]  # the bot stays a bot\n", 1)
        + "secrets:\n  DEPLOY_TOKEN:\n    visibility: selected\n    repositories: [website]\n    source: env:DEPLOY_TOKEN\n"
    )
    result = run(cli, minimal, github)
    assert result.code == 0, result.err
    text = org_yaml.read_text()
    assert text.startswith("# Acme, by hand. This comment stays.\n")
    assert "bots: [acme-bot]  # the bot stays a bot" in text
    assert "  shards: 2" in text  # feedstocks defaults: not read from GitHub, kept
    cfg = load_orgs(minimal / "stacks", minimal)["acme"].config
    assert cfg.bots == ["acme-bot"] and "acme-bot" not in cfg.members
    assert cfg.secrets["DEPLOY_TOKEN"].source == "env:DEPLOY_TOKEN"
    assert cfg.teams["core"].maintainers == ["alice"]


def test_what_org_yaml_declares_and_github_lacks_is_kept_and_said(cli, empty, github, token):
    """A team or repository a pull request adds is not on GitHub until the next `up`: an import
    in between must not undo it."""
    assert run(cli, empty, github).code == 0
    org_yaml = empty / "stacks/acme/org.yaml"
    text = org_yaml.read_text().replace("\nteams:\n", "\nteams:\n  newcomers:  # added by hand, not applied yet\n    members: [alice]\n", 1)
    org_yaml.write_text(text.replace("\nrepositories:\n", "\nrepositories:\n  planned:\n    description: not created yet\n", 1))
    assert "planned:" in org_yaml.read_text() and "newcomers:" in org_yaml.read_text()
    github.data.teams = [t for t in github.data.teams if t["slug"] != "reviewers"]
    result = run(cli, empty, github)
    assert result.code == 0, result.err
    for what in ("team newcomers", "team reviewers", "repository planned"):
        assert f"kept: {what} is declared but not in the org on GitHub" in result.err
    text = org_yaml.read_text()
    assert "newcomers:  # added by hand, not applied yet" in text and "description: not created yet" in text
    cfg = load_orgs(empty / "stacks", empty)["acme"].config
    assert {"newcomers", "reviewers"} <= set(cfg.teams) and "planned" in cfg.repositories


def test_prune_removes_what_github_lacks_and_says_so(cli, empty, github, token):
    assert run(cli, empty, github).code == 0
    github.data.teams = [t for t in github.data.teams if t["slug"] != "reviewers"]
    result = run(cli, empty, github, "--prune")
    assert result.code == 0 and "removed: team reviewers (not in the org on GitHub; --prune)" in result.err
    assert "reviewers" not in load_orgs(empty / "stacks", empty)["acme"].config.teams


def test_rate_limit_waits_and_says_so(cli, empty, github, token):
    github.behaviour.rate_limit_at = 3
    started = time.monotonic()
    result = run(cli, empty, github, "--jobs", "1")
    assert result.code == 0, result.err
    assert "GitHub rate limit reached (403 on /" in result.err and "waiting" in result.err
    assert time.monotonic() - started >= 1.0  # it did wait for the reset, a second or two ahead
    assert "1 rate-limit wait(s)" in result.out
    assert "GitHub requests" not in result.err  # no bar where stderr is not a terminal (CI logs)
    assert "acme" in load_orgs(empty / "stacks", empty)


def test_lost_network_stops_with_nothing_written(cli, minimal, github, token):
    assert run(cli, minimal, github, "--no-cache").code == 0  # a first import, to have files to keep
    before = stacks(minimal)
    github.data.team_members["numpy"]["member"].append("erin")
    github.behaviour.die_at = len(github.behaviour.requests) + 6  # the server goes away mid-run
    result = run(cli, minimal, github, "--no-cache")
    assert result.code == 1
    assert "lost the connection to 127.0.0.1" in result.err and "nothing was written" in result.err
    assert "Traceback" not in result.err
    assert stacks(minimal) == before
    assert not [p for p in (minimal / "stacks").rglob(".import-*")]


def test_refused_token_is_one_message(cli, empty, github, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "wrong")
    result = run(cli, empty, github)
    assert result.code == 1 and "HTTP 401" in result.err and "set GITHUB_TOKEN" in result.err
    assert "wrong" not in result.err
    assert stacks(empty) == {}


def test_api_url_must_be_https_or_this_machine(cli, empty, token):
    result = cli("import", "github", "--org", "acme", "--api-url", "http://example.com", "--root", str(empty))
    assert result.code == 1 and "plain http only to this machine" in result.err


def test_pages_pointing_to_another_host_are_refused(cli, empty, github, token, monkeypatch):
    monkeypatch.setattr(StandIn, "page_url", lambda self, path, query, page: f"http://evil.example{path}?page={page}")
    github.data.outside_collaborators.extend(f"guest{i}" for i in range(150))  # a REST list of two pages
    result = run(cli, empty, github)
    assert result.code == 1 and "points to http://evil.example" in result.err
    assert stacks(empty) == {}


def _answer(status: int, headers: dict[str, str] | None = None, body: dict | None = None):
    import json

    import httpx

    from condainfra.fetch import Answer

    return Answer(status, httpx.Headers(headers or {}), "http://127.0.0.1/x", json.dumps(body or {"message": "x"}).encode())


def test_how_long_each_kind_of_limit_waits():
    from condainfra.importers.github_api import SECONDARY_WAIT, _rate_limit_wait

    now = 1_000_000.0
    assert _rate_limit_wait(_answer(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 30)}), 0, now) == 31.0
    assert _rate_limit_wait(_answer(429, {"retry-after": "7"}), 0, now) == 7.0
    assert _rate_limit_wait(_answer(403, body={"message": "You have exceeded a secondary rate limit."}), 1, now) == SECONDARY_WAIT * 2
    assert _rate_limit_wait(_answer(429), 0, now) == SECONDARY_WAIT
    assert _rate_limit_wait(_answer(403, body={"message": "Resource not accessible by integration"}), 0, now) is None
    assert _rate_limit_wait(_answer(500), 0, now) is None


def test_bots_on_feedstock_teams_are_no_maintainers(cli, minimal, github, token):
    # GitHub makes a team's creator its maintainer: the bot that created numpy's team is not a recipe maintainer
    github.data.team_members["numpy"]["maintainer"].append("acme-bot")
    org_yaml = minimal / "stacks" / "acme" / "org.yaml"
    org_yaml.write_text(org_yaml.read_text().replace("members: [carol]\n", "members: [carol]\nbots: [acme-bot]\n", 1))
    assert run(cli, minimal, github).code == 0
    assert load_orgs(minimal / "stacks", minimal)["acme"].feedstocks["numpy"].maintainers == ("alice", "carol", "Dave")


def test_secrets_not_readable_are_left_as_written(cli, minimal, github, token):
    org_yaml = minimal / "stacks" / "acme" / "org.yaml"
    org_yaml.write_text(org_yaml.read_text() + "repositories:\n  website: {}\nsecrets:\n  KEPT:\n    visibility: private\n")
    github.behaviour.forbidden.add("/orgs/acme/actions/secrets")
    result = run(cli, minimal, github)
    assert result.code == 0, result.err
    assert "org secrets are not readable with this token" in result.err
    assert set(load_orgs(minimal / "stacks", minimal)["acme"].config.secrets) == {"KEPT"}


def test_broken_org_yaml_exit_2_before_any_request(cli, minimal, github, token):
    (minimal / "stacks" / "acme" / "org.yaml").write_text("org: acme\nowners: [alice\n")
    before = stacks(minimal)
    result = run(cli, minimal, github)
    assert result.code == 2 and "stacks/acme/org.yaml:" in result.err and "YAML syntax error" in result.err
    assert github.behaviour.requests == [] and stacks(minimal) == before


def test_a_limit_seen_by_one_request_pauses_all_and_is_said_once(cli, empty, github, token):
    github.behaviour.rate_limit_at = 8  # while team requests are in flight, four at a time
    result = run(cli, empty, github, "--jobs", "4")
    assert result.code == 0, result.err
    assert result.err.count("GitHub rate limit reached") == 1
    assert "1 rate-limit wait(s)" in result.out


def test_the_hours_last_request_waits_for_the_reset_instead_of_being_refused(cli, empty, github, token):
    github.behaviour.used_up_at = 2
    result = run(cli, empty, github, "--jobs", "1")
    assert result.code == 0, result.err
    assert "GitHub rate limit used up; waiting" in result.err
    assert "GitHub rate limit reached" not in result.err


def test_a_declared_team_that_is_also_a_feedstocks_team(cli, minimal, github, token):
    # like conda-forge's `r`: the team org.yaml declares is the team of the feedstock of the same name
    from tests.importers.github_stand_in import granted, repo

    core_feedstock = repo("core-feedstock", 9)
    github.data.repos.append(core_feedstock)
    github.data.team_repos["core"].append(granted(core_feedstock, "write"))
    github.data.repos.append(repo("-feedstock", 10))  # no feedstock name: neither a feedstock nor a repository entry
    result = run(cli, minimal, github)
    assert result.code == 0, result.err
    text = (minimal / "stacks" / "acme" / "org.yaml").read_text()
    assert "core-feedstock" not in text and "-feedstock" not in text.replace("core-feedstock", "")
    assert "'-feedstock': not a valid feedstock name: left out" in result.err
    assert "core: []" in (minimal / "stacks" / "acme" / "feedstocks" / "c.yaml").read_text()


def test_archived_on_github_updates_a_hand_written_entry_in_place(cli, minimal, github, token):
    hand = minimal / "stacks" / "acme" / "feedstocks" / "core.yaml"
    hand.write_text("# kept by hand\nzlib: [carol]  # zlib stays here\n")
    assert run(cli, minimal, github).code == 0
    assert hand.read_text() == "# kept by hand\nzlib:          # zlib stays here\n  maintainers: [carol]\n  archived: true\n"
    assert not (minimal / "stacks" / "acme" / "feedstocks" / "z.yaml").exists()
    assert load_orgs(minimal / "stacks", minimal)["acme"].feedstocks["zlib"].archived


def test_a_managed_repository_gets_githubs_values(cli, minimal, github, token):
    org_yaml = minimal / "stacks" / "acme" / "org.yaml"
    org_yaml.write_text(org_yaml.read_text() + "repositories:\n  website:\n    description: old words  # reviewed by hand\n")
    assert run(cli, minimal, github).code == 0
    text = " ".join(org_yaml.read_text().split())  # ruamel keeps the comment; the gap before it may change
    assert "description: The Acme website # reviewed by hand" in text
    repo = load_orgs(minimal / "stacks", minimal)["acme"].config.repositories["website"]
    assert repo.manage and repo.homepage == "https://acme.example" and repo.topics == ["web"] and repo.features.has_wiki


def test_the_terminal_progress_bar_runs_an_import(cli, empty, github, token, monkeypatch):
    # on a terminal the requests are counted by a rich bar, and what is said goes above it
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    github.behaviour.rate_limit_at = 2
    result = run(cli, empty, github, "--jobs", "1")
    assert result.code == 0, result.err
    assert "GitHub requests" in result.err  # the bar's label
    assert "GitHub rate limit reached" in result.err
    assert "acme" in load_orgs(empty / "stacks", empty)
