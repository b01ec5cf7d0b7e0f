"""Signing STAC asset hrefs just before they are opened.

Holds the signers the ``sign`` option can name (:data:`SIGNERS`, :func:`register_signer`),
Planetary Computer's SAS-token signer with its per-container token cache, and
:func:`sign_href`, which applies the configured signer to an href.

Decision:

- **Signing.** ``sign`` names a function from :data:`SIGNERS` that turns an href into a
  readable href just before it is opened (hrefs stored in ``item.json`` stay unsigned). PC's
  blob storage needs a SAS token (:func:`sign_planetary_computer`; network, UNVERIFIED here).

UNVERIFIED: the PC token endpoint.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

Signer = Callable[[str], str]
"""Turns an asset href into one that can be opened (e.g. appends a SAS token)."""

PC_TOKEN_URL = "https://planetarycomputer.microsoft.com/api/sas/v1/token/{account}/{container}"
"""PC endpoint that hands out a SAS token for one blob storage container."""


def _pc_token(account: str, container: str) -> str:
    """Fetch a SAS token for a PC storage container (network)."""
    import requests

    url = PC_TOKEN_URL.format(account=account, container=container)
    response = requests.get(url, timeout=30)
    response.raise_for_status()
    token = response.json().get("token")
    if not isinstance(token, str) or not token:
        raise ValueError(f"{url} returned no token")
    return token


@dataclass
class _TokenCache:
    """SAS tokens by (account, container), each kept for ``ttl_s`` seconds."""

    ttl_s: float = 30 * 60
    tokens: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_PC_TOKENS = _TokenCache()


def sign_planetary_computer(href: str, fetch_token: Callable[[str, str], str] = _pc_token) -> str:
    """Sign a Planetary Computer blob-storage href with a SAS token.

    Hrefs on ``<account>.blob.core.windows.net/<container>/…`` get ``?<token>`` appended (the
    token of that container, from :data:`PC_TOKEN_URL`, cached for 30 minutes); other hrefs
    and hrefs that already carry a query are returned unchanged. This is what PC's own
    ``planetary_computer.sign`` does (PC "Using tokens for data access" documentation); it
    needs the network and is UNVERIFIED here.

    Args:
        href: The asset href.
        fetch_token: ``(account, container) → token``; the default asks PC's token endpoint.

    Returns:
        The signed href.
    """
    parsed = urlparse(href)
    host = parsed.netloc
    if parsed.scheme != "https" or not host.endswith(".blob.core.windows.net") or parsed.query:
        return href
    account = host.split(".", 1)[0]
    container = parsed.path.lstrip("/").split("/", 1)[0]
    key = (account, container)
    now = time.monotonic()
    with _PC_TOKENS.lock:
        cached = _PC_TOKENS.tokens.get(key)
        if cached is None or now - cached[1] > _PC_TOKENS.ttl_s:
            cached = (fetch_token(account, container), now)
            _PC_TOKENS.tokens[key] = cached
    return f"{href}?{cached[0]}"


SIGNERS: dict[str, Signer] = {"planetary_computer": sign_planetary_computer}
"""Signers by the name the ``sign`` option uses."""


def register_signer(name: str, signer: Signer) -> None:
    """Make a signer available to the ``sign`` option.

    Args:
        name: The name to use in ``params.yaml``.
        signer: ``href → signed href``.
    """
    SIGNERS[name] = signer


def sign_href(sign: str | None, href: str) -> str:
    """Apply the signer named by the ``sign`` option to an href.

    Args:
        sign: A name in :data:`SIGNERS`, or None for no signing.
        href: The asset href.

    Returns:
        The href to open.
    """
    return SIGNERS[sign](href) if sign else href
