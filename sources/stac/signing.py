"""Signing STAC asset hrefs just before they are opened.

Holds the signers the ``sign`` option can name (:data:`SIGNERS`, :func:`register_signer`),
Planetary Computer's SAS-token signer and :func:`sign_href`, which applies the configured
signer to an href.

Decision:

- **Signing.** ``sign`` names a function from :data:`SIGNERS` that turns an href into a
  readable href just before it is opened (hrefs stored in ``item.json`` stay unsigned). PC's
  blob storage needs a SAS token: :func:`sign_planetary_computer` hands the href to the
  ``planetary-computer`` package (an optional dependency: ``pip install
  'eoinstruct[planetary-computer]'``), which fetches a token per container, keeps it until a
  minute before the expiry the token states, sends ``PC_SDK_SUBSCRIPTION_KEY`` and retries the
  token endpoint. The package's token request has no timeout, so the adapter fetches a
  missing or expiring token itself first, the package's way (``<sas_url>/<account>/
  <container>``, the subscription key header, its cache), with the adapter's timeout and
  retries; a failure to sign is a ``network`` failure of the unit, not a traceback.

UNVERIFIED: the PC token endpoint (network).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from urllib.parse import urlparse

from eoinstruct.sources.base import SourceError
from eoinstruct.sources.stac.network import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    api_retry,
    public_href,
)

Signer = Callable[[str], str]
"""Turns an asset href into one that can be opened (e.g. appends a SAS token)."""

PC_EXTRA = "pip install 'eoinstruct[planetary-computer]'"
"""How to install what ``sign: planetary_computer`` needs."""


def _planetary_computer() -> ModuleType:
    """Import the ``planetary-computer`` package, or say how to install it."""
    try:
        import planetary_computer
    except ImportError as exc:
        raise ImportError(
            "stac: sign=planetary_computer needs the planetary-computer package "
            f"({PC_EXTRA}, or pip install planetary-computer)"
        ) from exc
    return planetary_computer


def _fetch_pc_token(
    pc: ModuleType, account: str, container: str, timeout: object, retries: int
) -> None:
    """Put a fresh SAS token for a container into the package's cache, with a timeout."""
    import requests.adapters

    sas = pc.sas
    settings = sas.Settings.get()
    url = f"{settings.sas_url}/{account}/{container}"
    token = sas.TOKEN_CACHE.get(url)
    if token and token.ttl() >= 60:
        return
    session = sas.requests.Session()
    adapter = requests.adapters.HTTPAdapter(max_retries=api_retry(retries))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    key = settings.subscription_key
    headers = {"Ocp-Apim-Subscription-Key": key} if key else None
    response = session.get(url, headers=headers, timeout=timeout)
    response.raise_for_status()
    sas.TOKEN_CACHE[url] = sas.SASToken(**response.json())


def sign_planetary_computer(
    href: str,
    timeout: tuple[float, float] = (DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_TIMEOUT_S),
    retries: int = DEFAULT_RETRIES,
) -> str:
    """Sign a Planetary Computer blob-storage href with a SAS token.

    Hrefs on ``<account>.blob.core.windows.net/<container>/…`` get ``?<token>`` appended by
    ``planetary_computer.sign_url`` (the container's token, cached until shortly before it
    expires); other hrefs, and hrefs that already carry a query (the package would append a
    second ``?``), are returned unchanged.

    Args:
        href: The asset href.
        timeout: ``(connect, read)`` seconds of the token request.
        retries: Retries of the token request (refused connection, HTTP 429/5xx).

    Returns:
        The signed href.

    Raises:
        ImportError: If the planetary-computer package is not installed (with how to install
            it).
        requests.RequestException: If the token cannot be fetched.
    """
    parsed = urlparse(href)
    if parsed.scheme != "https" or not parsed.netloc.endswith(".blob.core.windows.net"):
        return href
    if parsed.query:
        return href
    pc = _planetary_computer()
    account = parsed.netloc.split(".", 1)[0]
    container = parsed.path.lstrip("/").split("/", 1)[0]
    _fetch_pc_token(pc, account, container, timeout, retries)
    return str(pc.sign_url(href))


def check_signer(name: str) -> None:
    """Check that a signer can run here (its package is installed).

    Args:
        name: A name in :data:`SIGNERS`.

    Raises:
        ImportError: If ``planetary_computer`` is named and its package is missing.
    """
    if name == "planetary_computer" and SIGNERS[name] is sign_planetary_computer:
        _planetary_computer()


SIGNERS: dict[str, Signer] = {"planetary_computer": sign_planetary_computer}
"""Signers by the name the ``sign`` option uses."""


def register_signer(name: str, signer: Signer) -> None:
    """Make a signer available to the ``sign`` option.

    Args:
        name: The name to use in ``params.yaml``.
        signer: ``href → signed href``.
    """
    SIGNERS[name] = signer


def sign_href(
    sign: str | None,
    href: str,
    unit: str = "",
    timeout: tuple[float, float] = (DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_TIMEOUT_S),
    retries: int = DEFAULT_RETRIES,
) -> str:
    """Apply the signer named by the ``sign`` option to an href.

    Args:
        sign: A name in :data:`SIGNERS`, or None for no signing.
        href: The asset href.
        unit: Unit id for errors.
        timeout: ``(connect, read)`` seconds of a request the signer makes.
        retries: Its retries.

    Returns:
        The href to open.

    Raises:
        SourceError: ``network`` if the signer's request (a token) fails.
    """
    if not sign:
        return href
    import requests

    signer = SIGNERS[sign]
    try:
        if signer is sign_planetary_computer:
            return sign_planetary_computer(href, timeout, retries)
        return signer(href)
    except (requests.RequestException, OSError) as exc:
        text = " ".join(str(exc).split())[:300]
        raise SourceError(
            "network",
            f"{public_href(href)}: cannot sign with {sign}: {text}; a later run may succeed, "
            "or raise sources.stac.timeout_s / retries in params.yaml",
            unit,
        ) from None
