"""Options the compiled list carries beyond inputs reach the engine: a rename's old URNs as aliases, and
the inputs the config does not manage as ignoreChanges.

Mock: the Pulumi engine (Pulumi's mock monitor, wrapped to keep the options of each request)."""

from __future__ import annotations

from condainfra.compiler import github as gh
from condainfra.compiler.resources import Resource, StackBuilder
from condainfra.engine import mockrun


def _options_seen(monkeypatch, resources):
    seen = {}
    original = mockrun.RecordingMonitor.RegisterResource

    def register(self, request):
        response = original(self, request)
        seen[response.urn] = ([a.urn for a in request.aliases], list(request.ignoreChanges))
        return response

    monkeypatch.setattr(mockrun.RecordingMonitor, "RegisterResource", register)
    mockrun.render_with_mocks("condainfra", "acme", resources)
    return seen


def test_aliases_and_ignore_changes_reach_the_engine(monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    b = StackBuilder("acme", "condainfra")
    org = b.add(gh.ORGANIZATION, "acme", custom=False)
    provider = b.add(gh.PROVIDER, "acme", {"owner": "acme", "baseUrl": gh.GITHUB_API}, parent=org)
    old = b.urn_of(gh.TEAM, "old-name", org)
    team = b.add(
        gh.TEAM, "new-name", {"name": "new-name"}, parent=org, provider=provider,
        aliases=(old,), ignore_changes=("description", "privacy"),
    )
    seen = _options_seen(monkeypatch, b.resources)
    assert old == "urn:pulumi:acme::condainfra::condainfra:github:Organization$github:index/team:Team::old-name"
    assert seen[team.urn] == ([old], ["description", "privacy"])
    assert seen[org.urn] == ([], [])


def test_aliases_and_ignore_changes_survive_a_saved_render():
    r = Resource("urn:x", gh.TEAM, "t", None, {}, aliases=("urn:old",), ignore_changes=("description",))
    data = r.to_json()
    assert data["aliases"] == ["urn:old"] and data["ignoreChanges"] == ["description"]
    assert Resource.from_json(data) == r
    plain = Resource("urn:y", gh.TEAM, "t", None, {})
    assert "aliases" not in plain.to_json() and "ignoreChanges" not in plain.to_json()
