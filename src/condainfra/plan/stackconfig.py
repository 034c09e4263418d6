"""The stacks' own config files (stacks/Pulumi.<stack>.yaml): part of what a merge applies.

`apply.yml` runs on every change under stacks/, and `up` hands each stack its config file: a rotated
secret (`condainfra secrets set`), a region, a secrets provider. A plan lists each key that changes, per
stack; a secret's value, even encrypted, is never shown, only that it was added, changed or removed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config.yamlfile import load_yaml
from ..errors import ConfigError
from .diff import ConfigChange

# Top-level keys of a stack config file besides `config:`; the encryption material is compared, never shown.
_OPAQUE = ("encryptionsalt", "encryptedkey")
_SHOWN = ("secretsprovider",)

# stack -> key -> (secret, value)
StackConfigs = dict[str, dict[str, tuple[bool, Any]]]


def read_configs(stacks_dir: Path, project: str, shown_prefix: str = "stacks") -> StackConfigs:
    """Every stack config file in ``stacks_dir``; a file that does not load is bad input (file:line)."""
    out: StackConfigs = {}
    if not stacks_dir.is_dir():
        return out
    prefix = f"{project}:"
    issues = []
    for path in sorted(stacks_dir.glob("Pulumi.*.yaml")):
        stack = path.name[len("Pulumi."):-len(".yaml")]
        shown = f"{shown_prefix}/{path.name}"
        doc, found = load_yaml(path, shown)
        issues += found
        if doc is None:
            continue
        data = doc.data if isinstance(doc.data, dict) else {}
        keys: dict[str, tuple[bool, Any]] = {}
        for key in _OPAQUE:
            if key in data:
                keys[key] = (True, data[key])
        for key in _SHOWN:
            if key in data:
                keys[key] = (False, data[key])
        config = data.get("config")
        for key, value in (config.items() if isinstance(config, dict) else ()):
            name = key[len(prefix):] if key.startswith(prefix) else key
            keys[name] = (isinstance(value, dict) and "secure" in value, value)
        out[stack] = keys
    if issues:
        raise ConfigError(issues)
    return out


def config_changes(before: dict[str, tuple[bool, Any]], after: dict[str, tuple[bool, Any]]) -> list[ConfigChange]:
    changes = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        secret = bool((old and old[0]) or (new and new[0]))
        action = "added" if old is None else "removed" if new is None else "changed"
        changes.append(ConfigChange(key, action, secret, None if secret or old is None else old[1], None if secret or new is None else new[1]))
    return changes
