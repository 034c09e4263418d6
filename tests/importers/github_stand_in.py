"""The acme org the importer tests read through the GitHub stand-in (a mock of GitHub served on
127.0.0.1; the server and its REST/GraphQL answers are ``condainfra.devtools.github_stand_in``,
shared with the benchmarks)."""

from __future__ import annotations

from condainfra.devtools.github_org import OrgData, granted, repo, team, user  # noqa: F401 (tests build orgs with them)
from condainfra.devtools.github_stand_in import TOKEN, Behaviour, StandIn  # noqa: F401

SECRET_VALUE = "s3cr3t-value-that-must-never-be-written"


def acme(extra_members: int = 0) -> OrgData:
    website = repo("website", 1, description="The Acme website", homepage="https://acme.example", has_wiki=True, topics=["web"])
    numpy = repo("numpy-feedstock", 2, description="A conda-smithy repository for numpy.")
    zlib = repo("zlib-feedstock", 3, archived=True)
    scipy = repo("scipy-feedstock", 4)
    core = team("core", "core", 1, description="Acme core team")
    return OrgData(
        org={
            "login": "acme", "id": 1, "node_id": "O_1", "name": "Acme", "company": None, "blog": "https://acme.example",
            "location": "Earth", "email": "hello@acme.example", "description": "Acme builds things", "type": "Organization",
            "billing_email": "admin@acme.example", "two_factor_requirement_enabled": True, "default_repository_permission": "read",
            "members_can_create_repositories": False, "members_can_create_public_repositories": False,
            "members_can_create_private_repositories": False, "members_can_fork_private_repositories": False,
            "web_commit_signoff_required": False, "has_organization_projects": True, "has_repository_projects": False,
            "plan": {"name": "free", "seats": 0},
        },
        admins=["alice", "bob"],
        members=["carol", "dave", "acme-bot", *[f"user{i:03d}" for i in range(extra_members)]],
        teams=[
            core,
            team("reviewers", "reviewers", 2, parent=core, description="Reviewers", privacy="closed"),
            team("numpy", "numpy", 3, description="Maintainers of numpy-feedstock"),
            team("zlib", "zlib", 4),
        ],
        team_members={
            "core": {"maintainer": ["alice"], "member": ["bob", "carol"]},
            "reviewers": {"maintainer": [], "member": ["dave"]},
            "numpy": {"maintainer": ["alice"], "member": ["carol", "Dave"]},
            "zlib": {"maintainer": [], "member": ["carol"]},
        },
        team_repos={
            "core": [granted(website, "admin"), granted(scipy, "write")],
            "reviewers": [granted(website, "triage")],
            "numpy": [granted(numpy, "write")],
            "zlib": [granted(zlib, "write")],
        },
        repos=[website, numpy, zlib, scipy, repo("tools", 5, description="Odds and ends", has_wiki=True)],
        secrets=[
            {"name": "DEPLOY_TOKEN", "created_at": "2024-01-10T14:59:22Z", "updated_at": "2024-01-11T14:59:22Z", "visibility": "selected",
             "selected_repositories_url": "https://api.github.com/orgs/acme/actions/secrets/DEPLOY_TOKEN/repositories",
             # no such field in GitHub's answer; the stand-in adds one to prove that nothing but names is copied
             "value": SECRET_VALUE},
            {"name": "ANACONDA_TOKEN", "created_at": "2024-01-10T14:59:22Z", "updated_at": "2024-01-11T14:59:22Z", "visibility": "private"},
        ],
        secret_repos={"DEPLOY_TOKEN": ["website"]},
    )
