"""The mirror's reads are bounded (issue 17): decompressed size, a deadline per request and per run,
bounded attempts and redirects, each limit one line naming the source and the limit. Against the
shared hostile server (tests/hostile_server.py), with small limits so that the tests are fast."""

from __future__ import annotations

import asyncio
import shutil
import time

import pytest
import zstandard

from condainfra.errors import CondainfraError
from condainfra.fetch import FetchPolicy
from condainfra.mirror.registry import OciTarget, Registry
from condainfra.mirror.source import ChecksumError, Fetched, Source, SourceError

SMALL = ["repodata=4MiB", "channeldata=1MiB", "artifact=4MiB", "registry=1MiB", "repodata.deadline=1s", "artifact.deadline=1s",
         "channeldata.deadline=1s", "registry.deadline=1s", "attempts=3"]


def policy(*more: str) -> FetchPolicy:
    return FetchPolicy().with_settings([*SMALL, *more], "--limit")


def repodata(location: str, *more: str, subdir: str = "linux-64") -> str:
    async def run():
        async with Source(location, policy=policy(*more)) as source:
            return await source.repodata(subdir)

    with pytest.raises(SourceError) as caught:
        asyncio.run(run())
    return str(caught.value)


@pytest.mark.parametrize("mode", ["gzip-bomb", "zstd-bomb", "file-bomb", "huge"])
def test_a_bomb_or_a_huge_repodata_is_stopped_at_the_cap(hostile, mode):
    message = repodata(f"{hostile.url}/{mode}/conda-forge")
    assert message.startswith(f"{hostile.url}/{mode}/conda-forge/linux-64/repodata.json")
    assert message.endswith("larger than the repodata limit of 4 MiB (decompressed; limit repodata)")
    assert "\n" not in message
    assert hostile.hits[mode] <= 2  # repodata.json.zst, then repodata.json; a limit tripped is not retried


def test_a_trickling_channel_trips_the_request_deadline(hostile):
    started = time.monotonic()
    message = repodata(f"{hostile.url}/trickle/conda-forge")
    assert time.monotonic() - started < 4
    assert message == f"{hostile.url}/trickle/conda-forge/linux-64/repodata.json.zst: no complete answer within the repodata deadline of 1 s (limit repodata.deadline)"


def test_the_run_deadline_holds_however_many_requests(hostile):
    started = time.monotonic()
    message = repodata(f"{hostile.url}/trickle/conda-forge", "repodata.deadline=60s", "run=1.5s")
    assert time.monotonic() - started < 5
    assert "the run's deadline of 1.5 s (limit run)" in message


def test_a_redirect_loop_is_one_message(hostile):
    message = repodata(f"{hostile.url}/loop/conda-forge", "redirects=4")
    assert message == f"{hostile.url}/loop/conda-forge/linux-64/repodata.json.zst: more than 4 redirects (a redirect loop?; limit redirects)"
    assert hostile.hits["loop"] == 5


def test_a_permanent_429_is_asked_a_bounded_number_of_times(hostile):
    message = repodata(f"{hostile.url}/429/conda-forge")
    assert message == f"{hostile.url}/429/conda-forge/linux-64/repodata.json.zst: HTTP 429 after 3 attempts (limit attempts)"
    assert hostile.hits["429"] == 3


def test_credentials_in_the_channel_url_are_never_shown(hostile):
    location = hostile.url.replace("http://", "http://user:s3cret@") + "/huge/conda-forge"
    message = repodata(location)
    assert "s3cret" not in message and "user" not in message and "limit repodata" in message


def test_a_non_ascii_etag_is_neither_kept_nor_sent_back(hostile):
    """An ETag the mirror records is sent back by the next run: a non-ASCII one would break every later run."""

    async def run(known=None):
        async with Source(f"{hostile.url}/bad-etag/conda-forge", policy=policy()) as source:
            return await source.repodata("linux-64", known)

    found = asyncio.run(run())
    assert found.raw == b'{"login": "acme"}' and found.etag == ""
    # a record written by an older version: asked for again in full, not sent back
    again = asyncio.run(run(Fetched(None, "repodata.json", '"caf\u00e9"', "Tue, 01 Dec 2026 \u00e9")))
    assert again.raw == b'{"login": "acme"}'


def test_a_local_zst_bomb_is_stopped_at_the_cap(tmp_path):
    channel = tmp_path / "conda-forge"
    (channel / "linux-64").mkdir(parents=True)
    (channel / "linux-64" / "repodata.json.zst").write_bytes(zstandard.ZstdCompressor(level=19).compress(bytes(64 << 20)))
    assert (channel / "linux-64" / "repodata.json.zst").stat().st_size < 64 << 10
    message = repodata(str(channel))
    assert message == f"{channel}/linux-64/repodata.json.zst: larger than the repodata limit of 4 MiB (decompressed; limit repodata)"


def test_a_document_within_its_cap_is_read_whole_and_can_stay_on_disk(tmp_path):
    channel = tmp_path / "conda-forge"
    (channel / "noarch").mkdir(parents=True)
    document = b'{"packages": {}, "packages.conda": {}, "info": {"subdir": "noarch", "pad": "' + b"x" * (3 << 20) + b'"}}'
    (channel / "noarch" / "repodata.json.zst").write_bytes(zstandard.ZstdCompressor().compress(document))

    async def run():
        async with Source(str(channel), policy=policy()) as source:
            whole = await source.repodata("noarch")
            kept = await source.repodata("noarch", keep_file=True)
            on_disk = kept.path.read_bytes()
            return whole, kept, on_disk, kept.path

    whole, kept, on_disk, path = asyncio.run(run())
    assert whole.raw == document and on_disk == document and kept.raw is None and not kept.unchanged
    assert not path.exists()  # the source's scratch files go with it


@pytest.mark.parametrize("mode", ["trickle", "huge", "gzip-bomb"])
def test_an_artifact_that_trips_a_limit_fails_alone(hostile, tmp_path, mode):
    """The sync treats ChecksumError as one failed artifact (the others go on)."""

    async def run():
        async with Source(f"{hostile.url}/{mode}/conda-forge", policy=policy()) as source:
            await source.download("linux-64", "x-1.0-0.conda", tmp_path / "x.conda", None, None)

    started = time.monotonic()
    with pytest.raises(ChecksumError) as caught:
        asyncio.run(run())
    assert time.monotonic() - started < 4
    assert f"{hostile.url}/{mode}/conda-forge/linux-64/x-1.0-0.conda" in str(caught.value)
    assert "limit artifact" in str(caught.value)


def test_an_artifact_larger_than_repodata_says_is_stopped_there(hostile, tmp_path):
    async def run():
        async with Source(f"{hostile.url}/huge/conda-forge", policy=policy()) as source:
            await source.download("linux-64", "x-1.0-0.conda", tmp_path / "x.conda", None, 1000)

    with pytest.raises(ChecksumError, match="larger than repodata's size 1000"):
        asyncio.run(run())
    assert (tmp_path / "x.conda").stat().st_size <= 1000


@pytest.mark.parametrize("mode,expected", [
    ("huge", "larger than the registry limit of 1 MiB (decompressed; limit registry)"),
    ("zstd-bomb", "larger than the registry limit of 1 MiB (decompressed; limit registry)"),
    ("trickle", "no complete answer within the registry deadline of 1 s (limit registry.deadline)"),
    ("loop", "more than 5 redirects (a redirect loop?; limit redirects)"),  # blobs may redirect to storage: followed, not forever
])
def test_the_registry_client_reads_under_the_same_limits(hostile, mode, expected):
    hostile.default = mode
    target = OciTarget.parse(f"oci://127.0.0.1:{hostile.server_address[1]}/mirrors", insecure=True)

    async def run():
        async with Registry(target, policy=policy()) as registry:
            if mode == "loop":
                return await registry.get_blob("mirrors/conda-forge/linux-64/repodata.json", "sha256:" + "0" * 64)
            return await registry.get_manifest("mirrors/conda-forge/linux-64/repodata.json", "latest")

    with pytest.raises(CondainfraError) as caught:
        asyncio.run(run())
    message = str(caught.value)
    assert message.startswith(f"registry 127.0.0.1:{hostile.server_address[1]}: http://127.0.0.1:") and message.endswith(expected)


@pytest.mark.parametrize("mode,expected", [
    ("trickle", "no complete answer within the artifact deadline of 1 s (limit artifact.deadline)"),
    ("huge", "larger than the artifact limit of 4 MiB (decompressed; limit artifact)"),
    ("429", "HTTP 429 after 3 attempts (limit attempts)"),
    ("loop", "more than 5 redirects (a redirect loop?; limit redirects)"),
    ("elsewhere", "UnsupportedProtocol: Request URL has an unsupported protocol 'file://'."),
])
def test_a_blob_streamed_on_is_read_under_the_same_limits(hostile, mode, expected):
    """`mirror serve` passes blobs on as they come: the deadline runs to the last byte (a registry that
    trickles one byte every 0.2 s would take hours), the cap counts every byte, attempts are the policy's."""
    hostile.default = mode
    target = OciTarget.parse(f"oci://127.0.0.1:{hostile.server_address[1]}/mirrors", insecure=True)

    async def run():
        async with Registry(target, policy=policy()) as registry:
            opened = await registry.stream_blob("mirrors/conda-forge/linux-64/x", "sha256:" + "0" * 64)
            assert opened is not None
            async for _ in opened[1]:
                pass

    started = time.monotonic()
    with pytest.raises(CondainfraError) as caught:
        asyncio.run(asyncio.wait_for(run(), 15))
    message = str(caught.value)
    assert message.startswith(f"registry 127.0.0.1:{hostile.server_address[1]}: ") and message.endswith(expected)
    assert "/v2/mirrors/conda-forge/linux-64/x/blobs/sha256:" in message and "\n" not in message and time.monotonic() - started < 5
    if mode == "429":
        assert hostile.hits["429"] == 3
    if mode == "elsewhere":  # no passing fault: asked once, not the policy's attempts
        assert hostile.hits["elsewhere"] == 1


def test_sync_stops_a_hostile_channel_with_one_line(cli, registry, hostile):
    started = time.monotonic()
    result = cli("mirror", "sync", "--from", f"{hostile.url}/file-bomb/conda-forge", "--to", f"oci://{registry.url}/mirrors", "--insecure",
                 "--subdir", "linux-64", "--limit", "repodata=2MiB")
    assert result.code == 1
    assert result.err.strip() == f"error: linux-64: nothing published: {hostile.url}/file-bomb/conda-forge/linux-64/repodata.json.zst: larger than the repodata limit of 2 MiB (decompressed; limit repodata)"
    trickled = cli("mirror", "sync", "--from", f"{hostile.url}/trickle/conda-forge", "--to", f"oci://{registry.url}/mirrors", "--insecure",
                   "--subdir", "linux-64", "--limit", "repodata.deadline=1s")
    assert trickled.code == 1 and "no complete answer within the repodata deadline of 1 s" in trickled.err
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("item,message", [
    ("repodata", "expected NAME=VALUE"),
    ("repodata=lots", "expected a size like 800MiB or 2GiB"),
    ("repodata.deadline=soon", "expected a time like 90s, 20m or 2h"),
    ("attempts=0", "attempts must be a whole number from 1 to 100000"),
    ("backoff=1h", "expected a time from 0 to 10s"),
    ("bogus=1", "unknown limit 'bogus'"),
])
def test_a_bad_limit_is_one_message(cli, item, message):
    result = cli("mirror", "sync", "--from", "http://127.0.0.1:9/x", "--to", "oci://127.0.0.1:9/mirrors", "--insecure", "--limit", item)
    assert result.code == 1 and message in result.err and f"--limit {item!r}" in result.err
    assert "Traceback" not in result.err and "internal error" not in result.err


def test_limit_values():
    p = FetchPolicy().with_settings(["repodata=1GiB", "status=500KB", "api.deadline=90s", "run=2h", "pages=7", "redirects=2", "backoff=0"], "--limit")
    assert p.backoff == 0 and FetchPolicy().backoff > 0 and FetchPolicy().with_settings(["backoff=50ms"], "--limit").backoff == 0.05
    assert p.limit("repodata").max_bytes == 1 << 30 and p.limit("status").max_bytes == 500_000
    assert p.limit("api").deadline == 90 and p.run_deadline == 7200 and p.pages == 7 and p.redirects == 2
    assert FetchPolicy().limit("repodata").max_bytes >= 250_000_000  # conda-forge's largest repodata.json fits


def test_header_values_are_read_strictly():
    from condainfra.fetch import FetchError, next_link, parse_etag, parse_retry_after

    assert parse_retry_after("7") == 7.0 and parse_retry_after("\u0661\u0662") is None and parse_retry_after("-3") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after("9" * 40) is None
    assert parse_etag('W/"abc-1"') == 'W/"abc-1"' and parse_etag('"caf\u00e9"') is None and parse_etag("abc") is None
    assert next_link('<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=9>; rel="last"', "w") == "https://api.github.com/x?page=2"
    assert next_link('</v2/_catalog?last=a&n=1000>; rel="next"', "w") == "/v2/_catalog?last=a&n=1000"
    assert next_link('<https://api.github.com/x?page=9>; rel="last"', "w") is None
    for bad in ('<javascript:alert(1)>; rel="next"', "garbage", '<https://a/\u00e9>; rel="next"'):
        with pytest.raises(FetchError, match="w: unreadable Link header"):
            next_link(bad, "w")


@pytest.mark.parametrize("suffix", [".zst", ".bz2", ".gz"])
def test_local_compressed_files_are_decompressed_under_the_cap(tmp_path, suffix):
    import bz2
    import gzip

    from condainfra.fetch import FetchError, LimitExceeded, Sink, file_format, read_file

    compress = {".zst": zstandard.ZstdCompressor().compress, ".bz2": bz2.compress, ".gz": gzip.compress}[suffix]
    small, bomb = tmp_path / f"small.json{suffix}", tmp_path / f"bomb.json{suffix}"
    small.write_bytes(compress(b'{"a": 1}') + (compress(b" ") if suffix != ".zst" else b""))  # two members
    bomb.write_bytes(compress(b" " * (8 << 20)))
    sink = Sink("small", "status", 1 << 20)
    read_file(small, sink, file_format(small.name), "small")
    assert sink.body.strip() == b'{"a": 1}'
    with pytest.raises(LimitExceeded, match="bomb: larger than the status limit of 1 MiB"):
        read_file(bomb, Sink("bomb", "status", 1 << 20), file_format(bomb.name), "bomb")
    if suffix != ".zst":  # zstd's streaming reader does not tell a cut frame; the JSON parser does
        cut = tmp_path / f"cut.json{suffix}"
        cut.write_bytes(compress(b'{"a": 1}' * 1000)[:-12])
        with pytest.raises(FetchError, match="cut"):
            read_file(cut, Sink("cut", "status", 1 << 20), file_format(cut.name), "cut")


def test_an_empty_answer_that_names_an_encoding_is_empty(hostile):
    """A HEAD (or a 304) may carry Content-Encoding and no body: nothing to decode, no error."""
    import httpx

    from condainfra.fetch import fetch, new_client

    async def run():
        p = policy()
        async with new_client(p) as client:
            return await fetch(client, "HEAD", f"{hostile.url}/gzip-bomb/x.json", policy=p, kind="status")

    answer = asyncio.run(run())
    assert answer.status == 200 and answer.body == b"" and isinstance(answer.headers, httpx.Headers)


def test_one_subdirs_repodata_over_its_limit_fails_that_subdir_alone(cli, registry, built_channel, tmp_path):
    # linux-64's repodata is a bomb; noarch is whole: noarch still syncs and is published, linux-64 is
    # said once, nothing of it is published, and the run exits 1
    channel = tmp_path / "conda-forge"
    shutil.copytree(built_channel, channel)
    for name in ("repodata.json", "repodata.json.zst", "repodata.json.bz2"):
        (channel / "linux-64" / name).unlink(missing_ok=True)
    (channel / "linux-64" / "repodata.json.zst").write_bytes(zstandard.ZstdCompressor(level=19).compress(bytes(64 << 20)))
    target = f"oci://{registry.url}/mirrors"
    result = cli("mirror", "sync", "--from", str(channel), "--to", target, "--insecure", "--limit", "repodata=4MiB")
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: linux-64: nothing published: {channel}/linux-64/repodata.json.zst: larger than the repodata limit of 4 MiB (decompressed; limit repodata)"]
    assert "pushed 2," in result.out  # noarch's two builds
    verified = cli("mirror", "verify", "--to", target, "--channel", "conda-forge", "--subdir", "noarch", "--insecure")
    assert verified.code == 0, verified.err
