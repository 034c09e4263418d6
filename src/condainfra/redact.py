"""The one secret scrubber: compiled secret markers and Pulumi's secret values, replaced wherever they
sit in a structure; and free text (the engine's diagnostics and errors, anything it says in its own words)
with every secret value the CLI knows replaced, and URLs without their userinfo.

What the CLI knows: the values of the ``env:`` secret sources its compiled stacks name, the credentials it
was given in its environment, and a stack's decrypted ``config:`` secrets when the engine read them. A
report is published where GitHub's log masking does not apply (a drift issue, a comment): nothing that
reaches one may carry a value from this list.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from .compiler.resources import SECRET
from .urls import public_url

# Pulumi's wire and state form of a secret: {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ...}
PULUMI_SIG_KEY = "4dabf18193072939515e22adb298388d"
PULUMI_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
MASK = "[secret]"
# A secret read back from the deployed state: its value is scrubbed, what it was is not known here.
STATE_SECRET = {SECRET: "state"}
# Credentials the CLI may hold in its environment whatever the config says.
CREDENTIAL_VARS = (
    "GITHUB_TOKEN", "GH_TOKEN", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
)
# A shorter value would mask ordinary words in every message; no credential is this short.
MIN_SECRET_LENGTH = 6


def is_secret(value: dict) -> bool:
    return SECRET in value or value.get(PULUMI_SIG_KEY) == PULUMI_SECRET_SIG


def redact(value: Any, replacement: Any) -> Any:
    """``value`` with every secret replaced by ``replacement``."""
    if isinstance(value, dict):
        if is_secret(value):
            return replacement
        return {k: redact(v, replacement) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, replacement) for v in value]
    return value


def env_sources(value: Any) -> set[str]:
    """The environment variables named by ``env:`` secret markers anywhere in ``value``."""
    found: set[str] = set()
    if isinstance(value, dict):
        source = value.get(SECRET)
        if isinstance(source, str) and source.startswith("env:"):
            found.add(source[4:])
        for v in value.values():
            if isinstance(v, (dict, list)):
                found |= env_sources(v)
    elif isinstance(value, list):
        for v in value:
            found |= env_sources(v)
    return found


class Scrubber:
    """Free text with every known secret value and every URL's userinfo taken out."""

    def __init__(self, values: Iterable[str] = (), urls: Iterable[str] = ()):
        self._values: set[str] = set()
        self._urls: dict[str, str] = {}
        for value in values:
            self.know(value)
        for url in urls:
            self.know_url(url)

    def know(self, value: Any) -> None:
        if not isinstance(value, str) or len(value.strip()) < MIN_SECRET_LENGTH:
            return
        self._values.add(value)
        escaped = json.dumps(value)[1:-1]  # as it appears inside a JSON document the engine prints
        if escaped != value:
            self._values.add(escaped)

    def know_url(self, url: str) -> None:
        shown = public_url(url)
        if shown != url:
            self._urls[url] = shown

    def know_environment(self, names: Iterable[str], environ: dict[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        for name in names:
            self.know(environ.get(name))

    def copy(self) -> Scrubber:
        other = Scrubber()
        other._values, other._urls = set(self._values), dict(self._urls)
        return other

    def text(self, text: str) -> str:
        for url, shown in self._urls.items():
            text = text.replace(url, shown)
        for value in sorted(self._values, key=len, reverse=True):  # a longer secret holding a shorter one first
            if value in text:
                text = text.replace(value, MASK)
        return text

    def __call__(self, text: str) -> str:
        return self.text(text)

    def value(self, value: Any) -> Any:
        """A structure with its secret markers masked and every string scrubbed."""
        if isinstance(value, dict):
            if is_secret(value):
                return MASK
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, str) and self._values:
            return self.text(value)
        return value
