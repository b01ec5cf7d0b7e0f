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
  token endpoint.

UNVERIFIED: the PC token endpoint (network).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from urllib.parse import urlparse

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


def sign_planetary_computer(href: str) -> str:
    """Sign a Planetary Computer blob-storage href with a SAS token.

    Hrefs on ``<account>.blob.core.windows.net/<container>/…`` get ``?<token>`` appended by
    ``planetary_computer.sign_url`` (the container's token, cached until shortly before it
    expires); other hrefs, and hrefs that already carry a query (the package would append a
    second ``?``), are returned unchanged.

    Args:
        href: The asset href.

    Returns:
        The signed href.

    Raises:
        ImportError: If the planetary-computer package is not installed (with how to install
            it).
    """
    parsed = urlparse(href)
    if parsed.scheme != "https" or not parsed.netloc.endswith(".blob.core.windows.net"):
        return href
    if parsed.query:
        return href
    return str(_planetary_computer().sign_url(href))


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


def sign_href(sign: str | None, href: str) -> str:
    """Apply the signer named by the ``sign`` option to an href.

    Args:
        sign: A name in :data:`SIGNERS`, or None for no signing.
        href: The asset href.

    Returns:
        The href to open.
    """
    return SIGNERS[sign](href) if sign else href
