"""The one fetch policy: every read from the network (the mirror's upstream channel and registry, the
dashboard's sources, the GitHub API) and every decompression of outside data goes through here.

* ``FetchPolicy`` (limits.py): per kind of document (``repodata``, ``channeldata``, ``artifact``,
  ``status``, ``api``, ``registry``, ``upload``) a cap on the *decompressed* bytes and a deadline for
  the whole request (not per read: a server sending one byte every 5 s trips it); a deadline for the
  run; bounded attempts for every retried answer (429 included), redirects and pages. Set with
  ``policy.with_settings(["repodata=1GiB", "run=2h"], "--limit")``; share one policy per run.
* ``new_client(policy)`` (http.py): an httpx client that asks only for encodings decoded here.
* ``fetch(client, method, url, policy=, kind=, ...)`` -> ``Answer``: one request retried on "later"
  answers and dropped connections; the body is streamed through bounded decoders (Content-Encoding,
  then ``file_format=`` e.g. ``"zstd"`` for ``repodata.json.zst``) into memory (``answer.body``), or
  with ``dest=PATH`` into a file, never held whole: this is the API to stream a big document to a
  temp file with caps (``max_bytes=`` a smaller cap of the caller's, ``digest=True`` for a sha256).
  ``fetch_once`` is one attempt, for callers with their own retry rules (registry auth, GitHub rate
  limits).
* ``open_stream(client, url, policy=, kind=)`` -> ``Stream``: a GET left open for a body passed on as it
  comes (``mirror serve``); its chunks stop at the kind's cap and deadline, counted to the last byte.
* ``read_file(path, Sink(...), fmt, where)`` (decode.py): a local ``.zst``/``.bz2``/``.gz`` file
  decompressed under the same cap; ``file_format(name)`` tells the format from the name.
* ``parse_retry_after``, ``parse_etag``, ``next_link``: header values, strictly.

Every limit that trips raises :class:`LimitExceeded` (a :class:`FetchError`, a ``CondainfraError``):
one line naming the source (URL without userinfo) and the limit; the caller fails that source only.
"""

from .decode import Sink, file_format, read_file
from .http import (
    Answer,
    RetryableStatus,
    Stream,
    fetch,
    fetch_once,
    new_client,
    next_link,
    open_stream,
    parse_etag,
    parse_retry_after,
    retrying,
)
from .limits import DEFAULT_LIMITS, FetchError, FetchPolicy, Limit, LimitExceeded, Unreachable, parse_seconds, parse_size, size_text

__all__ = [
    "DEFAULT_LIMITS", "Answer", "FetchError", "FetchPolicy", "Limit", "LimitExceeded", "RetryableStatus", "Sink", "Stream", "Unreachable",
    "fetch", "fetch_once", "file_format", "new_client", "next_link", "open_stream", "parse_etag", "parse_retry_after",
    "parse_seconds", "parse_size", "read_file", "retrying", "size_text",
]
