"""Where stack state lives and how its secrets are encrypted, so that `condainfra up` works on day one.

Default: a file backend inside the checkout (`.condainfra/state`, git-ignored) with Pulumi's passphrase
secrets provider; no Pulumi account needed. `--backend URL` or PULUMI_BACKEND_URL selects a shared backend
(S3 in CI, see docs/operations.md); a stack created with `--secrets-provider awskms://...` records that
provider in its stack config file and needs no passphrase afterwards.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from getpass import getpass
from pathlib import Path

from ..config.yamlfile import load_yaml
from ..errors import CondainfraError
from ..project import WORK_DIR, Project
from ..urls import public_url

STATE_DIR = f"{WORK_DIR}/state"
PASSPHRASE = "passphrase"
PASSPHRASE_VARS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


@dataclass(frozen=True)
class Backend:
    url: str
    secrets_provider: str = PASSPHRASE  # used when a stack is created
    folder: Path | None = None  # the checkout's own state folder, made on first use

    def ensure(self) -> None:
        if self.folder is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CondainfraError(f"cannot create the state folder {self.folder}: {exc.strerror or exc}") from None

    @property
    def shown(self) -> str:
        return public_url(self.url)

    def scrub(self, text: str) -> str:
        """Engine output with the backend URL's credentials left out (the one scrubber, redact.Scrubber)."""
        from ..redact import Scrubber

        return Scrubber(urls=[self.url]).text(text)


def select_backend(project: Project, url: str | None = None, secrets_provider: str | None = None) -> Backend:
    """``url``, else PULUMI_BACKEND_URL, else the checkout's own file backend (created here).

    Not in CI: a fresh runner's checkout has an empty state folder, and `up` against it would try
    to create every repository of the org again. CI names its backend, or passes `--backend file://...`."""
    url = url or os.environ.get("PULUMI_BACKEND_URL")
    if url:
        return Backend(url, secrets_provider or PASSPHRASE)
    if os.environ.get("CI", "").lower() in ("true", "1"):
        raise CondainfraError(
            "CI is set and no state backend is named: set PULUMI_BACKEND_URL (e.g. s3://bucket/condainfra) or pass --backend; "
            f"the checkout's own {STATE_DIR} would be empty on a fresh runner"
        )
    state = project.root / STATE_DIR
    return Backend(state.absolute().as_uri(), secrets_provider or PASSPHRASE, state)


def stack_config_file(project: Project, stack: str) -> Path:
    """stacks/Pulumi.<stack>.yaml, as Pulumi.yaml's `stackConfigDir: stacks` places it."""
    return project.root / "stacks" / f"Pulumi.{stack}.yaml"


def read_stack_config(project: Project, stack: str) -> dict:
    path = stack_config_file(project, stack)
    if not path.is_file():
        return {}
    # a pull request can edit this file: read it with the config's bounded reader (size, aliases, depth)
    doc, issues = load_yaml(path, str(path))
    if issues:
        raise CondainfraError(f"cannot read the stack config: {issues[0]}")
    document = (doc.data if doc is not None else None) or {}
    if not isinstance(document, dict):
        raise CondainfraError(f"{path}: a stack config file is a mapping")
    return document


def secret_names(project: Project, stack: str) -> list[str]:
    """The names of the stack's secret config values, read from its config file: nothing is decrypted."""
    config = read_stack_config(project, stack).get("config") or {}
    prefix = f"{project.name}:"
    return sorted(
        key[len(prefix):] if key.startswith(prefix) else key
        for key, value in config.items()
        if isinstance(value, dict) and "secure" in value
    )


def needs_passphrase(project: Project, stacks: list[str], backend: Backend) -> bool:
    """A stack whose config file names another provider (a KMS key) needs none; a new one uses the backend's."""
    for stack in stacks:
        config = read_stack_config(project, stack)
        if "encryptionsalt" in config or (config.get("secretsprovider") or backend.secrets_provider) == PASSPHRASE:
            return True
    return False


def passphrase_given() -> bool:
    return any(os.environ.get(name) for name in PASSPHRASE_VARS)


def passphrase_env(prompt_if_tty: bool = True) -> dict[str, str]:
    """The passphrase for the engine's environment: from the environment, else asked on a terminal."""
    if passphrase_given():
        return {}  # the engine inherits it
    if prompt_if_tty and sys.stdin.isatty():
        value = getpass("Pulumi config passphrase (stack secrets): ")
        if value:
            return {"PULUMI_CONFIG_PASSPHRASE": value}
    raise CondainfraError(
        "the stack secrets use a passphrase: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE), "
        "or run on a terminal to be asked for it"
    )
