"""Licences of the corpus: which permit commercial use, their Hub ids and where to read them.

A source states its licence once, in ``sources/<name>/facts.py``, as text of the form
``id (caveat); id (caveat)`` (``ODC-BY-1.0 (new labels); ODbL-1.0 (OSM labels)``):
:func:`licence_ids` reads the ids out of it. :data:`LICENCES` is the one table that decides,
per licence id, whether data under it may be used commercially, and gives its Hugging Face Hub
identifier (https://huggingface.co/docs/hub/repositories-licenses) for the card's front matter.
A source is commercial-safe when every licence id it states is in the table and permits
commercial use; an id missing from the table counts as not permitting it.

The table records what the licences say, not legal advice: attribution (CC-BY, ODC-BY,
CDLA-Permissive, Copernicus), share-alike (ODbL) and use restrictions (OpenRAIL) still apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from eoinstruct.sources.base import SourceFacts

HUB_LICENCE_IDS: frozenset[str] = frozenset(
    {
        *("apache-2.0", "mit", "openrail", "cc0-1.0", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0"),
        *("cc-by-nc-sa-4.0", "cc-by-nc-nd-4.0", "cdla-permissive-1.0", "cdla-permissive-2.0"),
        *("odc-by", "odbl", "pddl", "unknown", "other"),
    }
)
"""Licence identifiers the Hub lists (https://huggingface.co/docs/hub/repositories-licenses)
that data licences use; :data:`LICENCES` maps to these only."""


@dataclass(frozen=True)
class Licence:
    """What the corpus card needs to know about one licence id.

    Attributes:
        id: The id as the sources' facts state it (SPDX where there is one).
        hub_id: Its identifier on the Hugging Face Hub (``other`` or ``unknown`` when the Hub
            has none).
        commercial: Whether data under it may be used commercially.
        url: Where its text is (empty when there is no single text).
        note: What else applies, in a few words.
    """

    id: str
    hub_id: str
    commercial: bool
    url: str = ""
    note: str = ""


def _spdx(licence_id: str) -> str:
    return f"https://spdx.org/licenses/{licence_id}.html"


LICENCES: dict[str, Licence] = {
    licence.id: licence
    for licence in (
        Licence(
            "CDLA-Permissive-1.0",
            "cdla-permissive-1.0",
            True,
            _spdx("CDLA-Permissive-1.0"),
            "keep the licence text with the data",
        ),
        Licence("ODC-BY-1.0", "odc-by", True, _spdx("ODC-By-1.0"), "attribution"),
        Licence("ODbL-1.0", "odbl", True, _spdx("ODbL-1.0"), "attribution, share-alike"),
        Licence("CC-BY-4.0", "cc-by-4.0", True, _spdx("CC-BY-4.0"), "attribution"),
        Licence("CC-BY-SA-4.0", "cc-by-sa-4.0", True, _spdx("CC-BY-SA-4.0"), "share-alike"),
        Licence("CC0-1.0", "cc0-1.0", True, _spdx("CC0-1.0"), "public-domain dedication"),
        Licence("PDDL-1.0", "pddl", True, _spdx("PDDL-1.0"), "public-domain dedication"),
        Licence(
            "OpenRAIL",
            "openrail",
            True,
            note="RAIL licence family: commercial use allowed, use-based restrictions apply",
        ),
        Licence(
            "Copernicus Sentinel data terms",
            "other",
            True,
            note="free, full and open use; credit 'Copernicus Sentinel data'",
        ),
        Licence("public domain", "other", True, note="no copyright (e.g. USGS Landsat)"),
        Licence("CC-BY-NC-4.0", "cc-by-nc-4.0", False, _spdx("CC-BY-NC-4.0"), "non-commercial"),
        Licence(
            "CC-BY-NC-SA-4.0",
            "cc-by-nc-sa-4.0",
            False,
            _spdx("CC-BY-NC-SA-4.0"),
            "non-commercial, share-alike",
        ),
        Licence(
            "CC-BY-NC-ND-4.0",
            "cc-by-nc-nd-4.0",
            False,
            _spdx("CC-BY-NC-ND-4.0"),
            "non-commercial, no derivatives",
        ),
        Licence(
            "research-only",
            "other",
            False,
            note="the publisher offers the data for research only; no commercial use "
            "(LEVIR-CD, DIOR, DOTA)",
        ),
        Licence(
            "Functional Map of the World Challenge Public License",
            "other",
            False,
            "https://github.com/fMoW/dataset",
            "fMoW's own licence (README); its terms are UNVERIFIED here: not commercial-safe",
        ),
        Licence("NOASSERTION", "unknown", False, note="no licence asserted by the publisher"),
        Licence("unstated", "unknown", False, note="the publisher states no licence"),
    )
}
"""Licence id → what it permits; the one place commercial use is decided."""

_CAVEAT = re.compile(r"\s*\([^()]*\)")


def licence_ids(text: str) -> tuple[str, ...]:
    """Return the licence ids of a source's licence text, in order.

    Args:
        text: ``SourceFacts.licence``: ids separated by ``;``, each optionally followed by a
            caveat in parentheses (which may itself hold ``;``).

    Returns:
        The ids, e.g. ``("ODC-BY-1.0", "ODbL-1.0", "CC-BY-4.0")``.
    """
    bare = text
    while _CAVEAT.search(bare):
        bare = _CAVEAT.sub("", bare)
    return tuple(dict.fromkeys(part.strip() for part in bare.split(";") if part.strip()))


def licence(licence_id: str) -> Licence:
    """Return the table entry of a licence id (an unknown id permits no commercial use).

    Args:
        licence_id: An id from :func:`licence_ids`.

    Returns:
        Its :class:`Licence`.
    """
    found = LICENCES.get(licence_id)
    if found is not None:
        return found
    return Licence(licence_id, "other", False, note="not in eoinstruct's licence table")


def commercial_use(facts: SourceFacts) -> bool:
    """Whether every licence a source states permits commercial use.

    Args:
        facts: The source's facts.

    Returns:
        True only when it states at least one licence and all of them permit commercial use.
    """
    ids = licence_ids(facts.licence)
    return bool(ids) and all(licence(i).commercial for i in ids)


def licences_of(infos: Iterable[SourceFacts]) -> list[str]:
    """Return the licence ids of several sources, each once, in first-seen order."""
    return list(dict.fromkeys(i for info in infos for i in licence_ids(info.licence)))
