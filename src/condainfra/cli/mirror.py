"""`condainfra mirror ...`: sync, verify, serve and client-config."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, Optional

import typer

from ..errors import CondainfraError
from .apps import LimitOption, new_app
from .options import RootOption, load_project

app = new_app(help="Conda channels in OCI registries.", no_args_is_help=True)

ToOption = Annotated[str, typer.Option("--to", help="The mirror: oci://HOST[:PORT]/PREFIX.")]
InsecureOption = Annotated[bool, typer.Option("--insecure", help="Plain http; loopback registries only.")]
SubdirOption = Annotated[Optional[list[str]], typer.Option("--subdir", help="Subdir to handle (repeatable; default: all).")]


def _progress_reporter():
    from ..mirror.progress import make_reporter

    return make_reporter(interactive=sys.stderr.isatty(), log=lambda line: typer.echo(line, err=True))


ShardOption = Annotated[Optional[str], typer.Option("--shard", metavar="K/N", help="Push only the package names of shard K of N, and publish nothing (see mirror publish).")]
RunOption = Annotated[Optional[str], typer.Option("--run", metavar="ID", help="The sharded run this job belongs to (in CI: the workflow run's id).")]


def _options(src, channel, subdir, package, jobs, dry_run, shard=None, run=None):
    from ..mirror.fanout import parse_shard
    from ..mirror.layout import shown, valid_channel
    from ..mirror.sync import SyncOptions

    options = SyncOptions(channel or src.default_channel, subdir or [], package or [], jobs, dry_run)
    if not options.channel:
        raise CondainfraError(f"--from {src.shown}: cannot tell the channel name; pass --channel")
    if not valid_channel(options.channel):
        raise CondainfraError(f"channel name {shown(options.channel)}: not lower-case letters, digits, '.', '_' or '-'; pass --channel")
    if shard is not None:
        try:
            options.shard = parse_shard(shard)
        except ValueError as exc:
            raise CondainfraError(str(exc)) from None
    if run is not None:
        if not run or len(run) > 128 or not run.replace("-", "").replace("_", "").replace(".", "").isalnum() or not run.isascii():
            raise CondainfraError(f"--run {shown(run)}: letters, digits, '.', '_' and '-' only (128 at most)")
        options.run_id = run
    return options


def _print(report) -> None:
    for name in report.planned:
        typer.echo(f"would push {name}")
    for name, why in report.invalid:
        typer.echo(f"skipped {name}: {why}", err=True)
    for name, why in report.rejected:
        typer.echo(f"error: rejected repodata entry {name}: {why}", err=True)
    for name, why in report.failed:
        typer.echo(f"error: {name}: {why}", err=True)
    for subdir, why in report.refused:
        typer.echo(f"error: {subdir}: nothing published: {why}", err=True)


@app.command()
def sync(
    source: Annotated[str, typer.Option("--from", help="Channel URL (http/https) or local channel folder.")],
    to: ToOption,
    channel: Annotated[Optional[str], typer.Option(help="Channel name in the mirror (default: last segment of --from).")] = None,
    subdir: SubdirOption = None,
    package: Annotated[Optional[list[str]], typer.Option("--package", help="Only packages whose name matches this glob (repeatable).")] = None,
    jobs: Annotated[int, typer.Option(min=1, max=256, help="Builds pushed at once.")] = 8,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be pushed; push nothing.")] = False,
    shard: ShardOption = None,
    run: RunOption = None,
    insecure: InsecureOption = False,
    limit: LimitOption = None,
) -> None:
    """Copy what the mirror lacks; the subdir's repodata is published last (with --shard: by mirror publish)."""
    from ..mirror.sync import sync as run_sync

    if shard and not run:
        raise CondainfraError("--shard needs --run ID: mirror publish takes only the shard records of one run")
    report = _with_channel_and_registry(
        source, to, insecure, limit, jobs,
        lambda src: _options(src, channel, subdir, package, jobs, dry_run, shard, run),
        lambda src, registry, options: run_sync(src, registry, options, _progress_reporter()),
    )
    _print(report)
    typer.echo(report.summary())
    if report.failed or report.rejected or report.refused:
        raise typer.Exit(1)


@app.command()
def publish(
    source: Annotated[str, typer.Option("--from", help="Channel URL (http/https) or local channel folder.")],
    to: ToOption,
    run: Annotated[str, typer.Option("--run", metavar="ID", help="The sharded run whose shards must all have finished.")],
    channel: Annotated[Optional[str], typer.Option(help="Channel name in the mirror (default: last segment of --from).")] = None,
    subdir: SubdirOption = None,
    package: Annotated[Optional[list[str]], typer.Option("--package", help="The same --package globs as the shards.")] = None,
    jobs: Annotated[int, typer.Option(min=1, max=256, help="Shards (CEP-16) written at once.")] = 8,
    insecure: InsecureOption = False,
    limit: LimitOption = None,
) -> None:
    """Publish each subdir's repodata once every shard of the run (mirror sync --shard K/N --run ID) has finished."""
    from ..mirror.sync import publish_run

    report = _with_channel_and_registry(
        source, to, insecure, limit, jobs,
        lambda src: _options(src, channel, subdir, package, jobs, False, None, run),
        publish_run,
    )
    _print(report)
    typer.echo(f"published {', '.join(report.repodata_pushed) or 'nothing new'}; {report.shards_written} shard(s) written; "
               f"{len(report.refused)} subdir(s) refused; {report.requests} registry requests")
    if report.refused or report.rejected:
        raise typer.Exit(1)



def _with_channel_and_registry(source, to, insecure, limit, jobs, make_options, work):
    """Run ``work(src, registry, options)`` with the channel and the registry open, under one fetch
    policy: one run, so the source and the registry share its deadline and limits."""
    from ..fetch import FetchPolicy
    from ..mirror.registry import OciTarget, Registry
    from ..mirror.source import Source

    target = OciTarget.parse(to, insecure)
    policy = FetchPolicy().with_settings(limit or [], "--limit")
    src = Source(source, policy=policy)
    options = make_options(src)

    async def go():
        async with src, Registry(target, concurrency=max(4, jobs * 2), policy=policy) as registry:
            return await work(src, registry, options)

    return asyncio.run(go())

@app.command()
def verify(
    to: ToOption,
    channel: Annotated[str, typer.Option(help="Channel name in the mirror.")],
    subdir: SubdirOption = None,
    insecure: InsecureOption = False,
) -> None:
    """Check every repodata entry has its blob (digest and size) and every tag follows the layout."""
    from ..mirror.registry import OciTarget, Registry
    from ..mirror.verify import verify as run_verify

    target = OciTarget.parse(to, insecure)

    async def run():
        async with Registry(target) as registry:
            return await run_verify(registry, channel, subdir or [])

    result = asyncio.run(run())
    for fault in result.faults:
        typer.echo(f"fault: {fault}", err=True)
    typer.echo(result.summary())
    if result.faults or not result.subdirs:
        raise typer.Exit(1)


@app.command()
def serve(
    source: Annotated[str, typer.Option("--from", help="The mirror: oci://HOST[:PORT]/PREFIX.")],
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    channel: Annotated[Optional[list[str]], typer.Option("--channel", help="Channels to serve (default: all under the prefix).")] = None,
    insecure: InsecureOption = False,
) -> None:
    """Serve every mirrored channel as an ordinary conda channel over HTTP."""
    from ..mirror.registry import OciTarget
    from ..mirror.serve import run_server

    run_server(OciTarget.parse(source, insecure), host, port, channel or [])


@app.command("client-config")
def client_config(
    to: Annotated[Optional[list[str]], typer.Option("--to", help="A mirror, oci://HOST[:PORT]/PREFIX (repeatable, first first; default: every read path of stacks/mirror/mirror.yaml in its order).")] = None,
    channel: Annotated[Optional[list[str]], typer.Option("--channel", help="Channel(s) to map (repeatable; default: the mirror's channels, else conda-forge).")] = None,
    upstream: Annotated[str, typer.Option(help="Where the channels normally live.")] = "https://conda.anaconda.org",
    root: RootOption = None,
) -> None:
    """Print the pixi / rattler `[mirrors]` snippet that sends the channels to the mirror's read paths, in priority order."""
    from ..mirror.client_config import mirrors_toml, read_paths
    from ..mirror.registry import OciTarget

    if to:
        targets = [OciTarget.parse(t) for t in to]
        channels = channel or ["conda-forge"]
    else:
        mirror = load_project(root).mirror
        if mirror is None:
            raise CondainfraError("no stacks/mirror/mirror.yaml here: pass --to oci://HOST/PREFIX")
        targets = [OciTarget.parse(t) for t in read_paths(mirror)]
        channels = channel or [c.name for c in mirror.channels]
    typer.echo(mirrors_toml(targets, channels, upstream), nl=False)
