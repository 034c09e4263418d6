"""Compile an org declaration into pulumi-github resources, as plain data.

Inputs use the engine's own (camelCase) property names, so the compiled list is
what the Pulumi engine records, and a preview can be read against it.
"""

from __future__ import annotations

from typing import Callable

from ..config.checks import feedstock_repo, team_slug
from ..config.loader import OrgDeclaration
from ..config.models import Feedstock, FeedstockDefaults, OrgConfig, RepositoryFeatures, Ruleset
from .resources import Resource, StackBuilder, ref, secret

ORGANIZATION = "condainfra:github:Organization"
FEEDSTOCK_SHARD = "condainfra:github:FeedstockShard"
FEEDSTOCK = "condainfra:github:Feedstock"

PROVIDER = "pulumi:providers:github"
ORG_SETTINGS = "github:index/organizationSettings:OrganizationSettings"
MEMBERSHIP = "github:index/membership:Membership"
TEAM = "github:index/team:Team"
TEAM_MEMBERS = "github:index/teamMembers:TeamMembers"
TEAM_REPOSITORY = "github:index/teamRepository:TeamRepository"
REPOSITORY = "github:index/repository:Repository"
RULESET = "github:index/repositoryRuleset:RepositoryRuleset"
ORG_SECRET = "github:index/actionsOrganizationSecret:ActionsOrganizationSecret"
ORG_SECRET_REPOSITORIES = "github:index/actionsOrganizationSecretRepositories:ActionsOrganizationSecretRepositories"

GITHUB_API = "https://api.github.com/"


def org_provider(builder: StackBuilder, org: str, parent: Resource) -> Resource:
    return builder.add(PROVIDER, org, {"owner": org, "baseUrl": GITHUB_API}, parent=parent)


def compile_org(decl: OrgDeclaration, builder: StackBuilder) -> None:
    cfg = decl.config
    org = builder.add(ORGANIZATION, cfg.org, custom=False)
    provider = org_provider(builder, cfg.org, org)

    def add(type_, name, inputs, depends_on=()):
        return builder.add(type_, name, inputs, parent=org, depends_on=depends_on, provider=provider)

    _settings_and_members(cfg, add)
    repos: dict[str, Resource] = {}
    for name, repo in cfg.repositories.items():
        base = _repository_base(repo.features, repo.homepage, repo.visibility, repo.topics)
        ruleset = _ruleset_base(repo.ruleset, repo.default_branch)
        repos[name] = _repository(builder, name, repo.description, repo.archived, base, ruleset, parent=org, provider=provider)
    _teams(cfg, repos, add)
    _secrets(cfg, repos, add)


AddResource = Callable[..., Resource]


def _settings_and_members(cfg: OrgConfig, add: AddResource) -> None:
    s = cfg.settings
    creation = s.repository_creation
    add(
        ORG_SETTINGS,
        cfg.org,
        {
            "billingEmail": s.billing_email,
            "blog": s.blog,
            "defaultRepositoryPermission": s.default_member_permission,
            "description": s.description,
            "membersCanCreatePrivateRepositories": creation in ("private", "all"),
            "membersCanCreatePublicRepositories": creation in ("public", "all"),
            "membersCanCreateRepositories": creation != "owners",
            "membersCanForkPrivateRepositories": s.members_can_fork_private_repositories,
            "webCommitSignoffRequired": s.web_commit_signoff_required,
        },
    )
    for role, logins in (("admin", cfg.owners), ("member", cfg.members), ("member", cfg.bots)):
        for login in logins:
            add(MEMBERSHIP, login.lower(), {"role": role, "username": login})


def _teams(cfg: OrgConfig, repos: dict[str, Resource], add: AddResource) -> None:
    teams: dict[str, Resource] = {}
    # a child team names its parent's id, so the parent must exist first
    for name in _parents_first(cfg.teams):
        team = cfg.teams[name]
        inputs = {"createDefaultMaintainer": False, "description": team.description, "name": name, "privacy": team.privacy}
        deps: tuple[Resource, ...] = ()
        if team.parent:
            inputs["parentTeamId"] = team_slug(team.parent)
            deps = (teams[team.parent],)
        teams[name] = add(TEAM, name, inputs, deps)
    for name, team in cfg.teams.items():
        members = [{"role": "maintainer", "username": login} for login in team.maintainers]
        members += [{"role": "member", "username": login} for login in team.members]
        if members:
            members.sort(key=lambda m: m["username"].lower())
            add(TEAM_MEMBERS, name, {"members": members, "teamSlug": team_slug(name)}, (teams[name],))
        for repo, permission in sorted(team.repositories.items()):
            # a feedstock repository lives in a shard's stack: no dependency across stacks
            deps = (teams[name], repos[repo]) if repo in repos else (teams[name],)
            add(TEAM_REPOSITORY, f"{repo}/{team_slug(name)}", {"permission": permission, "repository": repo, "teamId": team_slug(name)}, deps)


def _secrets(cfg: OrgConfig, repos: dict[str, Resource], add: AddResource) -> None:
    for name, spec in cfg.secrets.items():
        source = spec.source or f"config:{name}"
        created = add(ORG_SECRET, name, {"secretName": name, "value": secret(source), "visibility": spec.visibility})
        if spec.visibility == "selected":
            selected = [repos[r] for r in spec.repositories]
            add(
                ORG_SECRET_REPOSITORIES,
                name,
                {"secretName": name, "selectedRepositoryIds": [ref(r, "repoId") for r in selected]},
                (created, *selected),
            )


def _parents_first(teams: dict) -> list[str]:
    ordered: list[str] = []
    placed: set[str] = set()

    def place(name: str) -> None:
        if name in placed:
            return
        placed.add(name)
        parent = teams[name].parent
        if parent in teams:
            place(parent)
        ordered.append(name)

    for name in teams:
        place(name)
    return ordered


def _repository_base(features: RepositoryFeatures, homepage: str, visibility: str, topics: list[str]) -> dict:
    """The inputs every repository of one kind shares; built once per shard, not once per feedstock."""
    f = features
    return {
        "allowAutoMerge": f.allow_auto_merge,
        "allowMergeCommit": f.allow_merge_commit,
        "allowRebaseMerge": f.allow_rebase_merge,
        "allowSquashMerge": f.allow_squash_merge,
        # A removed declaration archives the repository instead of deleting it.
        "archiveOnDestroy": True,
        "deleteBranchOnMerge": f.delete_branch_on_merge,
        "hasDiscussions": f.has_discussions,
        "hasIssues": f.has_issues,
        "hasProjects": f.has_projects,
        "hasWiki": f.has_wiki,
        "homepageUrl": homepage,
        "topics": list(topics),
        "visibility": visibility,
        "vulnerabilityAlerts": f.vulnerability_alerts,
    }


def _ruleset_base(ruleset: Ruleset | None, branch: str) -> dict | None:
    if ruleset is None:
        return None
    return {
        "conditions": {"refName": {"excludes": [], "includes": [f"refs/heads/{branch}"]}},
        "enforcement": ruleset.enforcement,
        "name": ruleset.name,
        "rules": {"deletion": ruleset.block_deletion, "nonFastForward": ruleset.block_force_push},
        "target": "branch",
    }


def _repository(builder: StackBuilder, name: str, description: str, archived: bool, base: dict, ruleset: dict | None, *, parent: Resource, provider: Resource) -> Resource:
    repo = builder.add(
        REPOSITORY, name, {**base, "archived": archived, "description": description, "name": name},
        parent=parent, provider=provider, protect=True,
    )
    # GitHub refuses changes to an archived repository's rulesets.
    if ruleset is not None and not archived:
        builder.add(RULESET, name, {**ruleset, "repository": name}, parent=parent, depends_on=(repo,), provider=provider)
    return repo


Slices = dict[str, tuple[Feedstock, list[Resource]]]


def compile_feedstock_shard(decl: OrgDeclaration, feedstocks: list[Feedstock], builder: StackBuilder, reuse: Slices | None = None) -> Slices:
    """Compile a shard; returns each feedstock's resources. ``reuse`` holds slices compiled for the
    same stack from the same org settings: a feedstock equal to its entry there is taken as is."""
    defaults = decl.config.feedstocks
    assert defaults is not None, "feedstock shards exist only for orgs with a feedstocks section"
    shard = builder.add(FEEDSTOCK_SHARD, builder.stack, custom=False)
    provider = org_provider(builder, decl.name, shard)
    slices: Slices = {}
    base = _repository_base(defaults.features, defaults.homepage, "public", defaults.topics)
    ruleset = _ruleset_base(defaults.ruleset, defaults.default_branch)
    for feedstock in sorted(feedstocks, key=lambda f: f.name):
        known = (reuse or {}).get(feedstock.name)
        start = len(builder.resources)
        if known is not None and (known[0] is feedstock or known[0] == feedstock):
            builder.adopt(known[1])
        else:
            _feedstock(builder, defaults, feedstock, shard, provider, base, ruleset)
        slices[feedstock.name] = (feedstock, builder.resources[start:])
    return slices


def _feedstock(builder, defaults: FeedstockDefaults, feedstock: Feedstock, shard: Resource, provider: Resource, base: dict, ruleset: dict | None) -> None:
    name = feedstock.name
    component = builder.add(FEEDSTOCK, name, parent=shard, custom=False)
    repo = _repository(
        builder, feedstock_repo(name), defaults.description_of(name), feedstock.archived, base, ruleset,
        parent=component, provider=provider,
    )
    slug = team_slug(name)
    team = builder.add(
        TEAM,
        name,
        {"createDefaultMaintainer": False, "description": f"Maintainers of {repo.name}", "name": name, "privacy": "closed"},
        parent=component,
        provider=provider,
    )
    logins = sorted((m for m in feedstock.maintainers if "/" not in m), key=str.lower)
    if logins:
        builder.add(
            TEAM_MEMBERS,
            name,
            {"members": [{"role": "member", "username": login} for login in logins], "teamSlug": slug},
            parent=component,
            depends_on=(team,),
            provider=provider,
        )
    permission = defaults.team_permission
    builder.add(
        TEAM_REPOSITORY,
        f"{repo.name}/{slug}",
        {"permission": permission, "repository": repo.name, "teamId": slug},
        parent=component,
        depends_on=(team, repo),
        provider=provider,
    )
    # `org/team` maintainers: the org's team gets the same access as the feedstock's own team.
    for reference in sorted({m.split("/", 1)[1] for m in feedstock.maintainers if "/" in m}):
        builder.add(
            TEAM_REPOSITORY,
            f"{repo.name}/{team_slug(reference)}",
            {"permission": permission, "repository": repo.name, "teamId": team_slug(reference)},
            parent=component,
            depends_on=(repo,),
            provider=provider,
        )
