"""Tag lists a page at a time (the distribution spec's `n`/`last` and Link header; ghcr.io pages them):
sync, verify and the registry client read every page, under the policy's page limit.

Debian's docker-registry lists every tag at once, so a loopback proxy in front of it answers the tag
lists itself, two tags a page, from the registry's own full list."""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from condainfra.errors import CondainfraError
from condainfra.fetch import FetchPolicy
from condainfra.mirror.registry import OciTarget, Registry

PAGE = 2


def paging(registry, pages_served: list[str], next_host: str = ""):
    lock = threading.Lock()

    def answer(handler, _body) -> bool:
        parts = urlsplit(handler.path)
        if handler.command != "GET" or not parts.path.endswith("/tags/list"):
            return False
        full = handler.client.get(f"http://{registry.url}{parts.path}")
        if full.status_code != 200:
            return False
        tags = sorted(full.json().get("tags") or [])
        last = parse_qs(parts.query).get("last", [""])[0]
        rest = [t for t in tags if t > last]
        page, more = rest[:PAGE], rest[PAGE:]
        with lock:
            pages_served.append(parts.path)
        headers = {"Content_Type": "application/json"}
        if more:
            headers["Link"] = f'<{next_host}{parts.path}?n={PAGE}&last={page[-1]}>; rel="next"'
        handler.reply(200, ('{"name": "x", "tags": [%s]}' % ", ".join(f'"{t}"' for t in page)).encode(), **headers)
        return True

    return answer


def _tags(host: str, repo: str, *limits: str):
    async def run():
        async with Registry(OciTarget.parse(f"oci://{host}/mirrors", insecure=True), policy=FetchPolicy().with_settings(list(limits), "--limit")) as registry:
            return await registry.tags(repo)

    return asyncio.run(run())


def test_sync_verify_and_the_client_read_every_page(cli, registry, upstream, proxy):
    _, url = upstream
    assert cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/mirrors", "--insecure").code == 0
    repo = "mirrors/conda-test/linux-64/repodata.json"
    # a second publication: the repodata repository holds latest, the start tag and two timestamps (more than one page)
    (upstream[0] / "linux-64" / "repodata.json").write_text((upstream[0] / "linux-64" / "repodata.json").read_text().replace('"info"', '"info" ', 1))
    assert cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/mirrors", "--insecure").code == 0
    served: list[str] = []
    host = proxy(paging(registry, served))
    every = _tags(host, repo)
    assert len(every) > PAGE and every == sorted(every) and "latest" in every and "started-1-of-1" in every
    assert served.count(f"/v2/{repo}/tags/list") == -(-len(every) // PAGE)
    verified = cli("mirror", "verify", "--to", f"oci://{host}/mirrors", "--channel", "conda-test", "--insecure")
    assert verified.code == 0, verified.err
    again = cli("mirror", "sync", "--from", url, "--to", f"oci://{host}/mirrors", "--insecure")
    assert again.code == 0 and "pushed 0" in again.out, again.err


def test_a_next_page_elsewhere_or_past_the_page_limit_is_one_error(cli, registry, upstream, proxy):
    _, url = upstream
    assert cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/mirrors", "--insecure").code == 0
    repo = "mirrors/conda-test/linux-64/repodata.json"
    elsewhere = proxy(paging(registry, [], next_host="http://attacker.invalid"))
    with pytest.raises(CondainfraError, match="tag list: the next page is on another host: refused"):
        _tags(elsewhere, repo)
    with pytest.raises(CondainfraError, match=r"the tag list has more than 1 pages \(limit pages\)"):
        _tags(proxy(paging(registry, [])), repo, "pages=1")
