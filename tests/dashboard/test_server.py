"""The plugin inside a real Quetz: JSON API, pages, feed and OpenAPI, on packages uploaded at test time."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from .conftest import CHANNEL, wait_until


def _packages(view):
    return {p["name"]: p for p in view["packages"]}


def test_maintainer_api_lists_packages_versions_and_lagging_subdirs(dashboard):
    response = dashboard.get("/api/dashboard/maintainers/alice")
    assert response.status_code == 200
    view = response.json()
    packages = _packages(view)
    # alice maintains libfoo and barpy directly, and ghost (declared, never uploaded)
    assert set(packages) == {"libfoo", "barpy", "ghost"}
    libfoo = packages["libfoo"]
    assert libfoo["latest_version"] == "1.1.0"
    assert {s["subdir"]: s["version"] for s in libfoo["subdirs"]} == {"linux-64": "1.1.0", "osx-64": "1.0.0", "win-64": "1.1.0"}
    assert libfoo["lagging_subdirs"] == ["osx-64"]
    assert libfoo["feedstock_url"] == "https://github.com/conda-forge/libfoo-feedstock"
    assert libfoo["days_since_upload"] == 0
    assert packages["barpy"]["subdirs"][0]["subdir"] == "noarch"
    assert packages["ghost"]["in_channel"] is False and packages["ghost"]["subdirs"] == []


def test_team_members_see_team_feedstocks(dashboard):
    # carol is in conda-forge/core, which barpy lists as a maintainer
    packages = _packages(dashboard.get("/api/dashboard/maintainers/carol").json())
    assert set(packages) == {"barpy"}
    assert "conda-forge/core" in packages["barpy"]["roles"]


def test_download_counts_arrive(dashboard):
    # Quetz flushes download counts asynchronously (about every 10 s): poll
    def total():
        p = _packages(dashboard.get("/api/dashboard/maintainers/alice").json())["libfoo"]
        return p if p["downloads_total"] == 3 else None

    libfoo = wait_until(total, timeout=40)
    assert libfoo, "download counts never reached 3"


def test_attention_queue_orders_blockers_first(dashboard):
    view = dashboard.get("/api/dashboard/maintainers/alice").json()
    kinds = [(i["package"], i["kind"]) for i in view["attention"]]
    # barpy blocks 120 feedstocks in a migration: before libfoo's failed update, before its lagging subdir
    assert kinds.index(("barpy", "migration-blocked")) < kinds.index(("libfoo", "version-update-failed")) < kinds.index(("libfoo", "subdir-lagging"))
    assert [i["score"] for i in view["attention"]] == sorted((i["score"] for i in view["attention"]), reverse=True)
    failed = next(i for i in view["attention"] if i["kind"] == "version-update-failed")
    assert failed["link"] == "https://github.com/regro/cf-scripts/actions/runs/42"


def test_package_api(dashboard):
    view = dashboard.get(f"/api/dashboard/packages/{CHANNEL}/libfoo").json()
    assert view["name"] == "libfoo" and view["bot"]["version_error"]["attempts"] == 2
    error = view["bot"]["version_error"]
    assert error["truncated"] is True and len(error["excerpt"]) <= 401
    assert dashboard.get(f"/api/dashboard/packages/{CHANNEL}/no-such-package").status_code == 404
    assert dashboard.get("/api/dashboard/maintainers/nobody-at-all").status_code == 404


def test_pages_render_and_escape_bot_errors(dashboard):
    overview = dashboard.get("/dashboard/")
    assert overview.status_code == 200
    assert 'href="/dashboard/maintainers/alice"' in overview.text
    found = dashboard.get("/dashboard/", params={"q": "ali"}).text
    assert "/dashboard/maintainers/alice" in found and "/dashboard/maintainers/bob" not in found

    page = dashboard.get(f"/dashboard/packages/{CHANNEL}/libfoo").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in page
    assert 'href="https://github.com/regro/cf-scripts/actions/runs/42"' in page

    maintainer = dashboard.get("/dashboard/maintainers/alice").text
    assert 'name="viewport"' in maintainer and "osx-64 1.0.0" in maintainer


def test_search_input_is_escaped(dashboard):
    page = dashboard.get("/dashboard/", params={"q": '"><script>x()</script>'}).text
    assert "<script>x()" not in page and "&lt;script&gt;x()" in page


def test_atom_feed(dashboard):
    response = dashboard.get("/dashboard/maintainers/alice/feed.atom")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.fromstring(response.content)
    titles = [e.findtext("a:title", namespaces=ns) for e in feed.findall("a:entry", ns)]
    api = dashboard.get("/api/dashboard/maintainers/alice").json()
    open_titles = [t for t in titles if not t.startswith("resolved: ")]
    assert open_titles == [f"{i['package']}: {i['reason']}" for i in api["attention"]]
    assert len(titles) - len(open_titles) == len(api["resolved"])
    # each entry's times are when the refresh saw it, not the request's
    for entry in feed.findall("a:entry", ns):
        assert entry.findtext("a:updated", namespaces=ns) <= feed.findtext("a:updated", namespaces=ns)
    assert b"<script>" not in response.content


def test_openapi_shows_the_shapes(dashboard):
    schema = dashboard.get("/openapi.json").json()
    assert "/api/dashboard/maintainers/{login}" in schema["paths"]
    assert "/api/dashboard/packages/{channel}/{name}" in schema["paths"]
    components = schema["components"]["schemas"]
    assert {"MaintainerView", "PackageView", "AttentionItem"} <= set(components)
    assert "/api/dummylogin/{rest}" not in schema["paths"]


def test_dummylogin_is_closed(dashboard):
    for path in ("/api/dummylogin/uploader", "/api/dummylogin/uploader/", "/api/dummylogin", f"/t/{dashboard.keys['outsider']}/api/dummylogin/uploader"):
        response = dashboard.get(path, follow_redirects=False)
        assert response.status_code == 404, path
        assert "set-cookie" not in response.headers
    assert httpx_post(dashboard, "/api/dummylogin/uploader").status_code == 404


def httpx_post(dashboard, path):
    import httpx

    return httpx.post(dashboard.url + path, timeout=10)


def test_private_channel_packages_stay_hidden(dashboard):
    # the uploader owns hidden-pkg in a private channel
    anonymous = dashboard.get("/api/dashboard/maintainers/uploader").json()
    outsider = dashboard.get("/api/dashboard/maintainers/uploader", as_user="outsider").json()
    insider = dashboard.get("/api/dashboard/maintainers/uploader", as_user="insider").json()
    assert "hidden-pkg" not in _packages(anonymous) and "hidden-pkg" not in _packages(outsider)
    assert "hidden-pkg" in _packages(insider)
    assert dashboard.get("/api/dashboard/packages/secret-channel/hidden-pkg", as_user="outsider").status_code == 404
    assert dashboard.get("/api/dashboard/packages/secret-channel/hidden-pkg", as_user="insider").status_code == 200
    assert "hidden-pkg" not in dashboard.get("/dashboard/maintainers/uploader", as_user="outsider").text


def test_no_emails_or_api_keys_in_responses(dashboard):
    from condainfra.dashboard import quetz_adapter as quetz
    from quetz.db_models import Email  # the test seeds an e-mail the way Quetz's authenticators store one

    with quetz.session_for(dashboard.deployment.path) as db:
        user_id = quetz.user_id_of(db, "alice")
        if not db.query(Email).filter(Email.email == "alice@private.example").count():
            db.add(Email(provider="github", identity_id="1001", email="alice@private.example", user_id=user_id, verified=True, primary=True))
            db.commit()
    for path in ("/dashboard/", "/api/dashboard/maintainers", "/dashboard/maintainers/alice", "/api/dashboard/maintainers/alice",
                 "/dashboard/maintainers/alice/feed.atom", f"/api/dashboard/packages/{CHANNEL}/libfoo"):
        body = dashboard.get(path, as_user="outsider").text
        assert "alice@private.example" not in body, path
        assert not any(key in body for key in dashboard.keys.values()), path
        assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", body.replace("admin@example.invalid", "")), path


def test_bad_sources_are_reported_and_pages_still_render(dashboard):
    # their text names server paths: server owners see it, everyone else a count
    anonymous = dashboard.get("/api/dashboard/maintainers").json()["sources"]
    assert set(anonymous) >= {"bot", "config", "drift"}
    assert all(len(p) == 1 and p[0].endswith("problem(s); details in the server log") for p in anonymous.values())
    assert str(dashboard.sources) not in dashboard.get("/dashboard/").text
    overview = dashboard.get("/api/dashboard/maintainers", as_user="uploader").json()
    problems = " ".join(p for ps in overview["sources"].values() for p in ps)
    assert "broken.json: not valid JSON" in problems
    assert "missing-drift.json: no drift report yet" in problems
    assert "conda-forge/no-such-team" in problems
    # the feedstock naming an unknown team still shows its other maintainer
    assert "ghost" in _packages(dashboard.get("/api/dashboard/maintainers/alice").json())
    assert dashboard.get("/dashboard/maintainers/alice").status_code == 200


def test_the_cloud_health_check_path_answers_on_a_real_quetz(dashboard):
    from condainfra.compiler.dashboard import HEALTH_CHECK_PATH

    assert dashboard.get(HEALTH_CHECK_PATH).status_code == 200


def test_dummylogin_route_exists_only_outside_dev_mode():
    from condainfra.dashboard.router import make_router

    def paths(router):
        return {getattr(r, "path", "") for r in router.routes}

    assert {"/api/dummylogin", "/api/dummylogin/{rest:path}"} <= paths(make_router(dev_mode=False))
    assert not any(p.startswith("/api/dummylogin") for p in paths(make_router(dev_mode=True)))


def test_mirror_catch_up_comes_from_the_mirrors_repodata(dashboard):
    packages = _packages(dashboard.get("/api/dashboard/maintainers/bob").json())
    assert packages["libfoo"]["mirror"] == {"caught_up": False, "behind": ["linux-64"]}
    # the same version rebuilt (build number 1) is newer than what the mirror holds (build number 0)
    assert packages["bazlib"]["subdirs"][0]["build_number"] == 1 and packages["bazlib"]["lagging_subdirs"] == []
    assert packages["bazlib"]["mirror"] == {"caught_up": False, "behind": ["linux-64"]}
    alice = _packages(dashboard.get("/api/dashboard/maintainers/alice").json())
    assert alice["barpy"]["mirror"] == {"caught_up": True, "behind": []}
    kinds = [i["kind"] for i in dashboard.get("/api/dashboard/maintainers/bob").json()["attention"]]
    assert "mirror-behind" in kinds


def test_another_orgs_feedstock_of_the_same_name_is_not_this_channels(dashboard):
    # other-org also declares libfoo, maintained by mallory: that is not conda-forge's libfoo
    assert dashboard.get("/api/dashboard/maintainers/mallory").status_code == 404
    from condainfra.dashboard import quetz_adapter as quetz

    with quetz.session_for(dashboard.deployment.path) as db:
        assert "stranger" not in quetz.channel_roles(db, CHANNEL)
        assert not any(login == "mallory" for (_, _, login) in quetz.package_roles(db))


def test_a_declared_package_is_not_shown_in_a_channel_that_does_not_exist(dashboard):
    assert dashboard.get(f"/api/dashboard/packages/{CHANNEL}/ghost").status_code == 200
    assert dashboard.get("/api/dashboard/packages/no-such-channel/ghost").status_code == 404


def test_drift_is_attributed_by_exact_resource_names():
    from condainfra.dashboard.service import drift_names_feedstock

    assert drift_names_feedstock("python", "python") and drift_names_feedstock("python-feedstock/core", "python")
    assert not drift_names_feedstock("python-dateutil-feedstock", "python")
    assert not drift_names_feedstock("python-dateutil", "python")
