"""The OCI layout of a conda channel, as mamba 2, rattler and pixi read it (conda-oci-mirror's layout).

* one repository per package: ``<prefix>/<channel>/<subdir>/<name>``, ``zzz`` before a leading ``_``;
* one tag per build: ``<version>-<build>`` with ``+`` ``!`` ``=`` spelled ``__p__`` ``__e__`` ``__eq__``;
* layers: the package file(s), the ``info/`` folder as tar+gzip and ``info/index.json``;
* repodata per subdir in ``<prefix>/<channel>/<subdir>/repodata.json``, tags ``latest`` and a timestamp.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from ..subdirs import KNOWN_SUBDIRS, valid_subdir  # noqa: F401 (the mirror's modules read them from layout)

MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.unknown.config.v1+json"
PACKAGE_V1 = "application/vnd.conda.package.v1"  # .tar.bz2
PACKAGE_V2 = "application/vnd.conda.package.v2"  # .conda
INFO_LAYER = "application/vnd.conda.info.v1.tar+gzip"
INDEX_LAYER = "application/vnd.conda.info.index.v1+json"
REPODATA_JSON = "application/vnd.conda.repodata.v1+json"
REPODATA_ZST = "application/vnd.conda.repodata.v1+json+zst"
TITLE = "org.opencontainers.image.title"
MD5 = "org.conda.md5"

EMPTY_CONFIG = b"{}"
# Distribution spec: tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
_TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
# repository path components: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def package_repository_name(name: str) -> str:
    return f"zzz{name}" if name.startswith("_") else name


def repository(prefix: str, channel: str, subdir: str, name: str) -> str:
    """A package's repository. Names reach here only after ``filename_problem`` accepted them; a name that
    would not be one repository of its own (empty, with ``/``, or the subdir's repodata) is a bug."""
    if not names_one_repository(name):
        raise ValueError(f"{shown(name)} cannot name a package repository")
    return "/".join(p for p in (prefix, channel, subdir, package_repository_name(name)) if p)


def names_one_repository(name: object) -> bool:
    """Whether a package name maps to one repository of its own: not empty, no `/`, not the subdir's repodata."""
    return isinstance(name, str) and bool(_NAME.fullmatch(name)) and name != REPODATA_NAME


def repodata_repository(prefix: str, channel: str, subdir: str) -> str:
    return "/".join(p for p in (prefix, channel, subdir, REPODATA_NAME) if p)


def shards_repository(prefix: str, channel: str, subdir: str) -> str:
    """Where rattler's oci:// client looks for CEP-16 shard blobs: beside the repodata, never a package's."""
    return repodata_repository(prefix, channel, subdir) + "/shards"


def shard_tag(name: str) -> str:
    """The tag that keeps a package name's current shard from garbage collection."""
    return name if _TAG.fullmatch(name) else "h" + hashlib.sha256(name.encode()).hexdigest()


_ESCAPES = {"+": "__p__", "!": "__e__", "=": "__eq__"}


def tag_for(version: str, build: str) -> str | None:
    """The tag of a build, or None when it has none: even the escaped form is not a valid OCI tag, or the
    version or build already spells an escape (``1__p__`` would share ``1+``'s tag)."""
    raw = f"{version}-{build}"
    if any(escape in raw for escape in _ESCAPES.values()):
        return None
    tag = raw
    for char, escape in _ESCAPES.items():
        tag = tag.replace(char, escape)
    return tag if _TAG.fullmatch(tag) else None


def valid_channel(name: object) -> bool:
    """A channel name as the mirror uses it: one repository path component."""
    return isinstance(name, str) and len(name) <= 255 and bool(_COMPONENT.fullmatch(name))


def valid_repository(name: str) -> bool:
    """A repository name (or prefix) registries accept: lower-case components joined by ``/``, 255 characters at most."""
    return 0 < len(name) <= 255 and all(_COMPONENT.fullmatch(part) for part in name.split("/"))


# conda's file names, `<name>-<version>-<build>.conda|.tar.bz2`, where version and build never hold a "-"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_VERSION = re.compile(r"[A-Za-z0-9_.+!]+")
_BUILD = re.compile(r"[A-Za-z0-9_.+=]+")
SUFFIX_OF_KEY = {"packages": ".tar.bz2", "packages.conda": ".conda"}
REPODATA_NAME = "repodata.json"


def shown(text: object, limit: int = 120) -> str:
    """Upstream text as it may be printed: quoted, control and non-ASCII characters escaped, cut short."""
    out = ascii(text) if isinstance(text, str) else ascii(repr(text))
    return out if len(out) <= limit else out[: limit - 4] + "...'"


def filename_problem(filename: object, record: object, key: str) -> str | None:
    """Why a repodata entry is not a plain conda file name that agrees with its record; None when it is.

    Upstream names become paths, URLs and layer titles: one that fails is never fetched, written or published."""
    if not isinstance(record, dict):
        return "its record is not a mapping"
    return file_problem(filename, record.get("name"), record.get("version"), record.get("build"), key)


def file_problem(filename: object, name: object, version: object, build: object, key: str) -> str | None:
    """:func:`filename_problem` of a record's decoded name, version and build."""
    suffix = SUFFIX_OF_KEY[key]
    if not isinstance(filename, str) or not filename.endswith(suffix) or ".." in filename:
        return f"not a conda file name <name>-<version>-<build>{suffix}"
    if not (isinstance(name, str) and _NAME.fullmatch(name) and isinstance(version, str) and _VERSION.fullmatch(version)
            and isinstance(build, str) and _BUILD.fullmatch(build)):
        return "its record's name, version or build is not valid"
    if filename != f"{name}-{version}-{build}{suffix}":
        return f"not the file name of its record ({shown(f'{name}-{version}-{build}{suffix}')})"
    if name == REPODATA_NAME:
        return "a package may not be called repodata.json: that is the subdir's repodata in the mirror"
    return None


def stem_of(filename: str) -> str:
    return filename.removesuffix(".conda").removesuffix(".tar.bz2")


@dataclass(frozen=True)
class Blob:
    digest: str
    size: int
    media_type: str
    annotations: dict[str, str] | None = None

    def descriptor(self) -> dict:
        out = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


def config_blob() -> Blob:
    return Blob(sha256_digest(EMPTY_CONFIG), len(EMPTY_CONFIG), CONFIG_MEDIA_TYPE)


def manifest(layers: list[Blob], annotations: dict[str, str] | None = None) -> bytes:
    body = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": config_blob().descriptor(),
        "layers": [layer.descriptor() for layer in layers],
    }
    if annotations:
        body["annotations"] = annotations
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def package_media_type(filename: str) -> str:
    return PACKAGE_V2 if filename.endswith(".conda") else PACKAGE_V1


def manifest_from(existing: dict, annotations: dict[str, str]) -> bytes:
    """The same manifest (config and layers) under new annotations."""
    body = {k: v for k, v in existing.items() if k != "annotations"}
    body["annotations"] = annotations
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
