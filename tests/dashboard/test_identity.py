"""sync-users against a real Quetz database: users with their GitHub identity, roles granted from the
config, and taken away again (reported) when the config drops a maintainer."""

from __future__ import annotations

from condainfra.dashboard import quetz_adapter as quetz
from condainfra.dashboard.actions import refresh, sync_users

from .conftest import CHANNEL, FEEDSTOCKS_YAML, start_dashboard


def _roles(board):
    with quetz.session_for(board.deployment.path) as db:
        return {k: v for k, v in quetz.package_roles(db).items() if k[0] == CHANNEL}, quetz.channel_roles(db, CHANNEL)


def test_sync_users_grants_and_removes(tmp_path, database_url):
    board = start_dashboard(tmp_path, packages={"libfoo": [("1.0", "h0_0", ("linux-64",))], "barpy": [("0.5", "pyh0_0", ("noarch",))]}, private={}, database_url=database_url, supervisor=False)
    try:
        packages, channel = _roles(board)
        assert packages[(CHANNEL, "libfoo", "alice")] == "maintainer"
        assert packages[(CHANNEL, "libfoo", "bob")] == "maintainer"
        assert packages[(CHANNEL, "barpy", "carol")] == "maintainer"  # through conda-forge/core
        assert channel["owner-one"] == "owner" and channel["owner-two"] == "owner"
        with quetz.session_for(board.deployment.path) as db:
            alice = db.query(quetz.User).filter(quetz.User.username == "alice").one()
            assert [(i.provider, i.identity_id) for i in alice.identities] == [("github", "1001")]

        # a role given by hand is never taken away by the sync
        with quetz.session_for(board.deployment.path) as db:
            quetz.set_package_role(db, CHANNEL, "libfoo", "outsider", "maintainer")
            db.commit()

        # bob leaves libfoo
        (board.sources / "project" / "stacks" / "conda-forge" / "feedstocks" / "main.yaml").write_text(FEEDSTOCKS_YAML.replace("libfoo: [alice, bob]", "libfoo: [alice]"))
        refresh(board.deployment)
        report = sync_users(board.deployment)
        assert report.removed == [f"maintainer of {CHANNEL}/libfoo from bob"]
        assert any("removed maintainer of conda-forge/libfoo from bob" in line for line in report.lines())
        packages, _ = _roles(board)
        assert (CHANNEL, "libfoo", "bob") not in packages
        assert packages[(CHANNEL, "libfoo", "alice")] == "maintainer"
        assert packages[(CHANNEL, "libfoo", "outsider")] == "maintainer"

        # and bob no longer sees libfoo as a feedstock maintainer
        view = board.get("/api/dashboard/maintainers/bob").json()
        assert "libfoo" not in {p["name"] for p in view["packages"]}

        again = sync_users(board.deployment)
        assert again.granted == [] and again.removed == []
    finally:
        board.server.stop()


def test_unknown_github_ids_are_skipped_and_reported(tmp_path, database_url):
    board = start_dashboard(tmp_path, packages={"bazlib": [("2.0", "h0_0", ("linux-64",))]}, private={}, database_url=database_url, supervisor=False)
    try:
        (board.sources / "ids.json").write_text("{}")
        (board.sources / "project" / "stacks" / "conda-forge" / "feedstocks" / "main.yaml").write_text("bazlib: [bob, newcomer]\n")
        refresh(board.deployment)
        report = sync_users(board.deployment)
        assert report.unresolved == ["newcomer"]
        assert any(line.startswith("skipped newcomer: no GitHub id known") for line in report.lines())
    finally:
        board.server.stop()


def test_sync_users_finds_users_whatever_their_case_and_restores_hand_given_roles(tmp_path, database_url):
    board = start_dashboard(tmp_path, packages={"libfoo": [("1.0", "h0_0", ("linux-64",))]}, private={}, database_url=database_url, supervisor=False)
    try:
        with quetz.session_for(board.deployment.path) as db:
            # signed in through GitHub as "Carol-X" before the config named her "carol-x"
            quetz.create_user(db, "Carol-X", 2001)
            db.commit()
            # a role given by hand, then raised to maintainer by the sync
            quetz.set_package_role(db, CHANNEL, "libfoo", "Carol-X", "member")
            db.commit()
        (board.sources / "ids.json").write_text('{"alice": 1001, "bob": 1002, "carol": 1003, "owner-one": 1004, "owner-two": 1005, "carol-x": 2001}')
        feedstocks = board.sources / "project" / "stacks" / "conda-forge" / "feedstocks" / "main.yaml"
        feedstocks.write_text(FEEDSTOCKS_YAML.replace("libfoo: [alice, bob]", "libfoo: [alice, bob, carol-x]"))
        refresh(board.deployment)
        report = sync_users(board.deployment)
        assert "carol-x" not in report.created and report.unresolved == []
        packages, _ = _roles(board)
        assert packages[(CHANNEL, "libfoo", "carol-x")] == "maintainer"
        with quetz.session_for(board.deployment.path) as db:
            assert db.query(quetz.User).filter(quetz.User.username.ilike("carol-x")).count() == 1

        feedstocks.write_text(FEEDSTOCKS_YAML)
        refresh(board.deployment)
        report = sync_users(board.deployment)
        assert report.removed == [f"maintainer of {CHANNEL}/libfoo from carol-x (back to member)"]
        packages, _ = _roles(board)
        assert packages[(CHANNEL, "libfoo", "carol-x")] == "member"
    finally:
        board.server.stop()
