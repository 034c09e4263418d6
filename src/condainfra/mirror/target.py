"""Where a mirror lives: ``oci://[USER:TOKEN@]HOST[:PORT]/PREFIX``, checked before anything is sent."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from ..errors import CondainfraError
from ..urls import public_url
from .layout import valid_repository

_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


@dataclass(frozen=True)
class OciTarget:
    """``oci://[USER:TOKEN@]HOST[:PORT]/PREFIX``; a user and token in the URL are the push credentials."""

    host: str  # HOST[:PORT], never with credentials
    prefix: str
    insecure: bool = False
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str, insecure: bool = False) -> OciTarget:
        shown = repr(public_url(url))
        try:
            parts = urlsplit(url)
            hostname, port = parts.hostname, parts.port
        except ValueError as exc:
            if "port" in str(exc).lower():
                raise CondainfraError(f"{shown}: the port must be a number from 1 to 65535") from None
            raise CondainfraError(f"{shown}: not a valid host") from None
        if parts.scheme != "oci" or not parts.netloc:
            raise CondainfraError(f"{shown}: expected oci://HOST[:PORT]/PREFIX")
        if not hostname:
            raise CondainfraError(f"{shown}: expected oci://HOST[:PORT]/PREFIX, the host is missing")
        if port == 0:
            raise CondainfraError(f"{shown}: the port must be a number from 1 to 65535")
        if ":" in hostname:
            host = f"[{hostname}]"
        elif _HOSTNAME.fullmatch(hostname):
            host = hostname
        else:
            raise CondainfraError(f"{shown}: not a valid host")
        host += f":{port}" if port else ""
        prefix = parts.path.strip("/")
        if not prefix:
            # the registry's root would mix the mirror's repositories with everything else there
            raise CondainfraError(f"{shown}: expected oci://HOST[:PORT]/PREFIX, the prefix is missing")
        if not valid_repository(prefix):
            raise CondainfraError(f"{shown}: the prefix must be lower-case OCI path components")
        if (parts.username is None) != (parts.password is None) or parts.username == "" or parts.password == "":
            raise CondainfraError(f"{shown}: give both a user and a token in the URL (USER:TOKEN@HOST), or neither")
        if insecure and not is_loopback(hostname):
            raise CondainfraError(f"{shown}: --insecure (plain http) is only allowed for loopback registries")
        username = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(host, prefix, insecure, username, password)

    @property
    def base_url(self) -> str:
        return f"{'http' if self.insecure else 'https'}://{self.host}"

    def __str__(self) -> str:
        return f"oci://{self.host}/{self.prefix}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
