"""Compile an org declaration into pulumi-github resources, as plain data.

Inputs use the engine's own (camelCase) property names, so the compiled list is
what the Pulumi engine records, and a preview can be read against it.

What GitHub reports back is what is compiled, so that a refresh after an import shows nothing:
* a setting the YAML does not write is not sent, and is listed in the resource's ``ignoreChanges``
  (docs/configuration.md, "What is managed");
* org owners in a team are its maintainers, and a team no one else maintains has the applying
  identity (``settings.apply_identity``) as maintainer, as GitHub makes the team's creator one;
* team references are the Team resource's ``id`` in its own stack, and a lookup by slug from a
  feedstock shard: an import stores the numeric id, and a slug there would force a replacement;
* no input the provider deprecates (vulnerability alerts are a resource of their own).

A team's members resource is retained on delete: the provider's delete removes every member from the team,
so a list that becomes unknown (`[]`, or a team listing nobody) stops managing them instead. Members are
removed only by listing fewer of them.
"""

from __future__ import annotations

from typing import Any, Callable

from ..config.checks import feedstock_repo, maintainer_kind, team_slug
from ..config.loader import OrgDeclaration
from ..config.models import Feedstock, FeedstockDefaults, OrgConfig, Repository, RepositoryFeatures, Ruleset, Team
from .resources import Resource, StackBuilder, lookup, ref, secret

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
VULNERABILITY_ALERTS = "github:index/repositoryVulnerabilityAlerts:RepositoryVulnerabilityAlerts"
ORG_SECRET = "github:index/actionsOrganizationSecret:ActionsOrganizationSecret"
ORG_SECRET_REPOSITORIES = "github:index/actionsOrganizationSecretRepositories:ActionsOrganizationSecretRepositories"
GET_TEAM = "github:index/getTeam:getTeam"
GET_REPOSITORY = "github:index/getRepository:getRepository"

GITHUB_API = "https://api.github.com/"

# The settable, non-deprecated inputs of each kind that the config may leave to GitHub: any of them the
# YAML does not write is ignored (identity inputs, `name`, `repository`, are always sent).
REPOSITORY_SETTABLE = (
    "allowAutoMerge", "allowForking", "allowMergeCommit", "allowRebaseMerge", "allowSquashMerge", "allowUpdateBranch",
    "archived", "deleteBranchOnMerge", "description", "hasDiscussions", "hasIssues", "hasProjects", "hasWiki",
    "homepageUrl", "isTemplate", "mergeCommitMessage", "mergeCommitTitle", "securityAndAnalysis",
    "squashMergeCommitMessage", "squashMergeCommitTitle", "topics", "visibility", "webCommitSignoffRequired",
)
TEAM_SETTABLE = ("description", "notificationSetting", "parentTeamId", "privacy")
ORG_SETTINGS_SETTABLE = (
    "advancedSecurityEnabledForNewRepositories", "blog", "company", "defaultRepositoryPermission",
    "dependabotAlertsEnabledForNewRepositories", "dependabotSecurityUpdatesEnabledForNewRepositories",
    "dependencyGraphEnabledForNewRepositories", "description", "email", "hasOrganizationProjects",
    "hasRepositoryProjects", "location", "membersCanCreateInternalRepositories", "membersCanCreatePages",
    "membersCanCreatePrivatePages", "membersCanCreatePrivateRepositories", "membersCanCreatePublicPages",
    "membersCanCreatePublicRepositories", "membersCanCreateRepositories", "membersCanForkPrivateRepositories",
    "name", "secretScanningEnabledForNewRepositories", "secretScanningPushProtectionEnabledForNewRepositories",
    "twitterUsername", "webCommitSignoffRequired",
)

_FEATURE_INPUTS = {
    "allow_auto_merge": "allowAutoMerge",
    "allow_merge_commit": "allowMergeCommit",
    "allow_rebase_merge": "allowRebaseMerge",
    "allow_squash_merge": "allowSquashMerge",
    "delete_branch_on_merge": "deleteBranchOnMerge",
    "has_discussions": "hasDiscussions",
    "has_issues": "hasIssues",
    "has_projects": "hasProjects",
    "has_wiki": "hasWiki",
}
_ORG_INPUTS = {
    "blog": "blog",
    "company": "company",
    "default_member_permission": "defaultRepositoryPermission",
    "description": "description",
    "email": "email",
    "has_organization_projects": "hasOrganizationProjects",
    "has_repository_projects": "hasRepositoryProjects",
    "location": "location",
    "members_can_fork_private_repositories": "membersCanForkPrivateRepositories",
    "name": "name",
    "web_commit_signoff_required": "webCommitSignoffRequired",
}


def ignored(settable: tuple[str, ...], inputs: dict[str, Any]) -> tuple[str, ...]:
    return tuple(k for k in settable if k not in inputs)


def org_provider(builder: StackBuilder, org: str, parent: Resource) -> Resource:
    return builder.add(PROVIDER, org, {"owner": org, "baseUrl": GITHUB_API}, parent=parent)


def compile_org(decl: OrgDeclaration, builder: StackBuilder) -> None:
    cfg = decl.config
    org = builder.add(ORGANIZATION, cfg.org, custom=False)
    provider = org_provider(builder, cfg.org, org)

    def add(type_, name, inputs, depends_on=(), **options):
        return builder.add(type_, name, inputs, parent=org, depends_on=depends_on, provider=provider, **options)

    _settings_and_members(cfg, add)
    repos: dict[str, Resource] = {}
    for name, repo in cfg.repositories.items():
        if not repo.manage:
            continue  # reference-only: granted to teams, never created or changed
        base = _repository_base(repo.features, repo.homepage if "homepage" in repo.model_fields_set else None,
                                repo.visibility if "visibility" in repo.model_fields_set else None,
                                repo.topics if "topics" in repo.model_fields_set else None)
        description = repo.description if "description" in repo.model_fields_set else None
        archived = repo.archived if "archived" in repo.model_fields_set else None
        ruleset = _ruleset_base(repo.ruleset, repo.default_branch)
        repos[name] = _repository(builder, name, description, archived, base, ruleset, parent=org, provider=provider,
                                  alerts=_alerts(repo.features), previously=repo.previously)
    _teams(cfg, repos, add, builder, org)
    _secrets(cfg, repos, add)


AddResource = Callable[..., Resource]


def _settings_and_members(cfg: OrgConfig, add: AddResource) -> None:
    s = cfg.settings
    declared = s.model_fields_set
    # every declared value is sent, false booleans included: the provider leaves an unsent one as GitHub has it
    inputs: dict[str, Any] = {"billingEmail": s.billing_email}
    for field, key in _ORG_INPUTS.items():
        if field in declared:
            inputs[key] = getattr(s, field)
    if "repository_creation" in declared:
        creation = s.repository_creation
        inputs["membersCanCreatePrivateRepositories"] = creation in ("private", "all")
        inputs["membersCanCreatePublicRepositories"] = creation in ("public", "all")
        inputs["membersCanCreateRepositories"] = creation != "owners"
    add(ORG_SETTINGS, cfg.org, dict(sorted(inputs.items())), ignore_changes=ignored(ORG_SETTINGS_SETTABLE, inputs))
    for role, logins in (("admin", cfg.owners), ("member", cfg.members), ("member", cfg.bots)):
        for login in logins:
            add(MEMBERSHIP, login.lower(), {"role": role, "username": login})


def team_members(maintainers, members, owners: frozenset[str], identity: str | None) -> list[dict[str, str]]:
    """A team's members as GitHub reports them: owners are maintainers, and when nobody maintains the
    team, the applying identity does (GitHub made it one when it created the team)."""
    roles: dict[str, dict[str, str]] = {}
    for login in maintainers:
        roles.setdefault(login.lower(), {"role": "maintainer", "username": login})
    for login in members:
        roles.setdefault(login.lower(), {"role": "maintainer" if login.lower() in owners else "member", "username": login})
    if identity is not None and not any(m["role"] == "maintainer" for m in roles.values()):
        roles[identity.lower()] = {"role": "maintainer", "username": identity}
    return [roles[k] for k in sorted(roles)]


def _teams(cfg: OrgConfig, repos: dict[str, Resource], add: AddResource, builder: StackBuilder, org: Resource) -> None:
    teams: dict[str, Resource] = {}
    owners = frozenset(o.lower() for o in cfg.owners)
    identity = cfg.settings.apply_identity

    def aliases(type_: str, names: list[str]) -> tuple[str, ...]:
        return tuple(builder.urn_of(type_, n, org) for n in names)

    # a child team names its parent's id, so the parent must exist first
    for name in _parents_first(cfg.teams):
        team = cfg.teams[name]
        inputs = _team_inputs(team, name)
        deps: tuple[Resource, ...] = ()
        if team.parent:
            inputs["parentTeamId"] = ref(teams[team.parent], "id")
            deps = (teams[team.parent],)
        teams[name] = add(TEAM, name, inputs, deps, aliases=aliases(TEAM, team.previously),
                          ignore_changes=ignored(TEAM_SETTABLE, inputs))
    for name, team in cfg.teams.items():
        # a team listing nobody (conda-forge's all-members) keeps the members GitHub has: not emptied
        if team.maintainers or team.members:
            members = team_members(team.maintainers, team.members, owners, identity)
            add(TEAM_MEMBERS, name, {"members": members, "teamSlug": team_slug(name)}, (teams[name],),
                aliases=aliases(TEAM_MEMBERS, team.previously), retain_on_delete=True)
        for repo, permission in sorted(team.repositories.items()):
            # a feedstock repository lives in a shard's stack, a reference-only one in no stack: no dependency
            deps = (teams[name], repos[repo]) if repo in repos else (teams[name],)
            old_repos = [repo, *cfg.repositories[repo].previously] if repo in cfg.repositories else [repo]
            old = [f"{r}/{team_slug(t)}" for r in old_repos for t in [name, *team.previously]][1:]
            add(TEAM_REPOSITORY, f"{repo}/{team_slug(name)}",
                {"permission": permission, "repository": repo, "teamId": ref(teams[name], "id")}, deps,
                aliases=aliases(TEAM_REPOSITORY, old))


def _team_inputs(team: Team, name: str) -> dict[str, Any]:
    inputs: dict[str, Any] = {"name": name}
    for field in ("description", "privacy"):
        if field in team.model_fields_set:
            inputs[field] = getattr(team, field)
    return inputs


def _secrets(cfg: OrgConfig, repos: dict[str, Resource], add: AddResource) -> None:
    for name, spec in cfg.secrets.items():
        source = spec.source or f"config:{name}"
        created = add(ORG_SECRET, name, {"secretName": name, "value": secret(source), "visibility": spec.visibility})
        if spec.visibility == "selected":
            selected = [repos[r] for r in spec.repositories if r in repos]
            # a reference-only repository is in no stack: its id is read from GitHub by name
            ids = [ref(repos[r], "repoId") if r in repos else lookup(GET_REPOSITORY, {"fullName": f"{cfg.org}/{r}"}, "repoId") for r in spec.repositories]
            add(ORG_SECRET_REPOSITORIES, name, {"secretName": name, "selectedRepositoryIds": ids}, (created, *selected))


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


def _repository_base(features: RepositoryFeatures, homepage: str | None, visibility: str | None, topics: list[str] | None) -> dict:
    """The inputs every repository of one kind shares; built once per shard, not once per feedstock.
    Only what the config declares (None: not declared)."""
    base: dict[str, Any] = {
        # A removed declaration archives the repository instead of deleting it.
        "archiveOnDestroy": True,
    }
    for field in features.model_fields_set & _FEATURE_INPUTS.keys():
        base[_FEATURE_INPUTS[field]] = getattr(features, field)
    if homepage is not None:
        base["homepageUrl"] = homepage
    if topics is not None:
        base["topics"] = list(topics)
    if visibility is not None:
        base["visibility"] = visibility
    return dict(sorted(base.items()))


def _alerts(features: RepositoryFeatures) -> bool | None:
    return features.vulnerability_alerts if "vulnerability_alerts" in features.model_fields_set else None


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


def _repository(
    builder: StackBuilder, name: str, description: str | None, archived: bool | None, base: dict, ruleset: dict | None, *,
    parent: Resource, provider: Resource, alerts: bool | None, previously=(), ignore: tuple[str, ...] | None = None,
) -> Resource:
    inputs = dict(base)
    if archived is not None:
        inputs["archived"] = archived
    if description is not None:
        inputs["description"] = description
    inputs["name"] = name
    old = tuple(builder.urn_of(REPOSITORY, n, parent) for n in previously) if previously else ()
    repo = builder.add(
        REPOSITORY, name, inputs, parent=parent, provider=provider, protect=True,
        aliases=old, ignore_changes=ignore if ignore is not None else ignored(REPOSITORY_SETTABLE, inputs),
    )
    # GitHub refuses changes to an archived repository's rulesets and settings.
    if not archived:
        if ruleset is not None:
            builder.add(RULESET, name, {**ruleset, "repository": name}, parent=parent, depends_on=(repo,), provider=provider,
                        aliases=tuple(builder.urn_of(RULESET, n, parent) for n in previously) if previously else ())
        if alerts is not None:
            builder.add(VULNERABILITY_ALERTS, name, {"enabled": alerts, "repository": name}, parent=parent, depends_on=(repo,),
                        provider=provider, aliases=tuple(builder.urn_of(VULNERABILITY_ALERTS, n, parent) for n in previously) if previously else ())
    return repo


def lookup_team(slug: str) -> dict[str, Any]:
    """A team another stack owns, by its slug (the org stack's teams, another shard's feedstock teams)."""
    return lookup(GET_TEAM, {"slug": slug, "summaryOnly": True}, "id")


Slices = dict[str, tuple[Feedstock, list[Resource]]]


class _ShardContext:
    """What every feedstock of a shard shares, worked out once."""

    def __init__(self, decl: OrgDeclaration, builder: StackBuilder, shard: Resource, provider: Resource):
        defaults = decl.config.feedstocks
        assert defaults is not None, "feedstock shards exist only for orgs with a feedstocks section"
        declared = defaults.model_fields_set
        self.decl, self.builder, self.shard, self.provider, self.defaults = decl, builder, shard, provider, defaults
        self.base = _repository_base(
            defaults.features if "features" in declared else RepositoryFeatures.model_construct(_fields_set=set()),
            defaults.homepage if "homepage" in declared else None, "public",
            defaults.topics if "topics" in declared else None,
        )
        self.describe = "description" in declared
        self.ruleset = _ruleset_base(defaults.ruleset, defaults.default_branch)
        self.alerts = _alerts(defaults.features)
        self.owners = frozenset(o.lower() for o in decl.config.owners)
        self.identity = decl.config.settings.apply_identity
        self.org = decl.config.org
        # one ignoreChanges tuple per shape of inputs, shared by every feedstock repository
        self.ignore = {archived: ignored(REPOSITORY_SETTABLE, {**self.base, "archived": archived, "description": ""} if self.describe else {**self.base, "archived": archived}) for archived in (False, True)}


def compile_feedstock_shard(decl: OrgDeclaration, feedstocks: list[Feedstock], builder: StackBuilder, reuse: Slices | None = None) -> Slices:
    """Compile a shard; returns each feedstock's resources. ``reuse`` holds slices compiled for the
    same stack from the same org settings: a feedstock equal to its entry there is taken as is."""
    shard = builder.add(FEEDSTOCK_SHARD, builder.stack, custom=False)
    context = _ShardContext(decl, builder, shard, org_provider(builder, decl.name, shard))
    slices: Slices = {}
    for feedstock in sorted(feedstocks, key=lambda f: f.name):
        known = (reuse or {}).get(feedstock.name)
        start = len(builder.resources)
        if known is not None and (known[0] is feedstock or known[0] == feedstock):
            builder.adopt(known[1])
        else:
            _feedstock(context, feedstock)
        slices[feedstock.name] = (feedstock, builder.resources[start:])
    return slices


def _feedstock(c: _ShardContext, feedstock: Feedstock) -> None:
    builder, name, old_names = c.builder, feedstock.name, feedstock.previously
    component = builder.add(FEEDSTOCK, name, parent=c.shard, custom=False,
                            aliases=tuple(builder.urn_of(FEEDSTOCK, n, c.shard) for n in old_names) if old_names else ())

    def aliases(type_: str, names) -> tuple[str, ...]:
        return tuple(builder.urn_of(type_, n, component) for n in names) if names else ()

    repo_name = feedstock_repo(name)
    old_repos = [feedstock_repo(n) for n in old_names] if old_names else ()
    repo = _repository(
        builder, repo_name, c.defaults.description_of(name) if c.describe else None, feedstock.archived, c.base, c.ruleset,
        parent=component, provider=c.provider, alerts=c.alerts, previously=old_repos, ignore=c.ignore[feedstock.archived],
    )
    permission = c.defaults.team_permission
    team_name = feedstock.team_name
    shared = team_name in c.decl.config.teams
    slug = team_slug(team_name)
    if shared:
        # the org stack owns this team and its members; the shard only grants it the repository
        team_id: Any = lookup_team(slug)
        depends: tuple[Resource, ...] = (repo,)
    else:
        old_teams = [] if feedstock.team else list(old_names)  # an explicit team keeps its name across renames
        team = builder.add(
            TEAM, team_name,
            {"description": f"Maintainers of {repo_name}", "name": team_name, "privacy": "closed"},
            parent=component, provider=c.provider, aliases=aliases(TEAM, old_teams),
            ignore_changes=("notificationSetting", "parentTeamId"),
        )
        logins = [m for m in feedstock.maintainers if maintainer_kind(m, c.org) == "login"]
        # no login known (an importer's empty list): membership is left as GitHub has it, not emptied
        if logins:
            members = team_members((), logins, c.owners, c.identity)
            builder.add(
                TEAM_MEMBERS, team_name, {"members": members, "teamSlug": slug},
                parent=component, depends_on=(team,), provider=c.provider, aliases=aliases(TEAM_MEMBERS, old_teams),
                retain_on_delete=True,
            )
        team_id = ref(team, "id")
        depends = (team, repo)
    old_slugs = [slug] if shared or feedstock.team else [slug, *(team_slug(n) for n in old_names)]
    builder.add(
        TEAM_REPOSITORY, f"{repo_name}/{slug}", {"permission": permission, "repository": repo_name, "teamId": team_id},
        parent=component, depends_on=depends, provider=c.provider,
        aliases=aliases(TEAM_REPOSITORY, [f"{r}/{s}" for r in [repo_name, *old_repos] for s in old_slugs][1:] if old_names else ()),
    )
    # `org/team` maintainers: the org's team gets the same access as the feedstock's own team.
    references = {team_slug(m.split("/", 1)[1]) for m in feedstock.maintainers if maintainer_kind(m, c.org) == "team"}
    for reference in sorted(references - {slug}):
        builder.add(
            TEAM_REPOSITORY, f"{repo_name}/{reference}",
            {"permission": permission, "repository": repo_name, "teamId": lookup_team(reference)},
            parent=component, depends_on=(repo,), provider=c.provider,
            aliases=aliases(TEAM_REPOSITORY, [f"{r}/{reference}" for r in old_repos] if old_repos else ()),
        )
