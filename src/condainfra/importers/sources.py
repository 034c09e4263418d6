"""Reading an import's sources: JSON from elsewhere, checked before anything is believed.

Everything read here is hostile input: a file that is not JSON, or that says one thing twice in
two ways, is refused with one message naming the file (:class:`BadSource`, exit 2), so that a bot
running an import never opens a pull request built on half a source.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .. import jsondoc
from ..errors import CondainfraError
from ..inputfile import InputFileError, read_capped

# the merged feedstock_outputs.json of all conda-forge is 1 MB, its maintainers 24 KB; parsing this
# much takes some 200 MB (a 500 MB file took 1.6 GB and more)
MAX_SOURCE_BYTES = 16 * 1024 * 1024


class BadSource(CondainfraError):
    """An import source that cannot be read as what it should be: the CLI exits 2."""


class DuplicateKey(Exception):
    def __init__(self, key: str, first: Any, second: Any):
        super().__init__(key)
        self.key, self.first, self.second = key, first, second


def shown(value: Any) -> str:
    """A value from a source as it goes into a message: quoted and escaped, so that a hostile
    name cannot forge message lines or terminal escapes."""
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _pairs_strict(same: Any):
    """An object hook that refuses a key given twice, unless ``same(a, b)`` says the two agree."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out and not same(out[key], value):
                raise DuplicateKey(key, out[key], value)
            out[key] = value
        return out

    return hook


def key_line(text: str, key: str, occurrence: int = 2) -> int | None:
    """The line of the ``occurrence``-th ``"key":`` in a JSON text (only used to point at an error)."""
    pattern = re.compile(re.escape(json.dumps(key)) + r"\s*:")
    for i, match in enumerate(pattern.finditer(text), 1):
        if i == occurrence:
            return text.count("\n", 0, match.start()) + 1
    return None


def read_source(path: Path | str) -> bytes:
    """A source file's bytes: at most MAX_SOURCE_BYTES, refused by its size before it is read."""
    try:
        return read_capped(path, MAX_SOURCE_BYTES)
    except InputFileError as exc:
        raise BadSource(str(exc)) from None


def read_json(path: Path | str, same: Any = lambda a, b: a == b) -> Any:
    """A JSON file, whole (see :func:`parse_json`)."""
    return parse_json(read_source(path), path, same)


def parse_json(raw: bytes, path: Path | str, same: Any = lambda a, b: a == b) -> Any:
    """A JSON source, at most MAX_DEPTH levels deep. A key given twice with values that ``same`` does not
    accept is refused (JSON parsers silently keep the last one, which would drop half of what the source
    says); ``same`` None: keys are not checked (a file whose keys say nothing, read by the thousand)."""
    try:
        return jsondoc.loads(raw, str(path), pairs_hook=_pairs_strict(same) if same is not None else None)
    except jsondoc.JsonDocumentError as exc:
        raise BadSource(f"{path}:{exc.line}: not valid JSON: {exc.reason}" if exc.line else f"{path}: {exc.reason}") from None
    except DuplicateKey as dup:
        line = key_line(raw.decode("utf-8", errors="replace"), dup.key)
        where = f"{path}:{line}" if line else str(path)
        raise BadSource(f"{where}: {shown(dup.key)} is listed twice, with different values ({shown(dup.first)} and {shown(dup.second)})") from None
