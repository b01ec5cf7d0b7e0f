"""The 17 local climate zones (LCZ) of So2Sat LCZ42 and what each class says.

Classes, in the order of the one-hot ``label`` (index 0–16): Stewart and Oke's LCZ 1–10 (built
types) and A–G (land-cover types); names and order as in ``shared/docs/source-formats.md`` §11
(torchgeo ``So2Sat.classes``). The derived facts follow Stewart and Oke (2012), "Local Climate
Zones for urban temperature studies", BAMS 93(12), Table 2 definitions: compact or open
arrangement (LCZ 1–6), building height (high-rise ≥ 10 storeys, mid-rise 3–9, low-rise 1–3;
LCZ 7 and 8 are low-rise by definition), tree cover (A dense, B scattered).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Zone:
    """One local climate zone.

    Attributes:
        code: LCZ code (``1``–``10``, ``A``–``G``).
        name: Class name (``Compact high-rise``).
        built: Whether it is a built type (LCZ 1–10).
        form: ``compact``/``open`` for LCZ 1–6; the built type's own arrangement for 7–10
            (``lightweight``, ``large``, ``sparse``, ``industrial``); empty for land cover.
        height: ``high-rise``/``mid-rise``/``low-rise`` where the class defines it, else empty.
        cover: Land-cover type of A–G (``trees``, ``bush``, ``low plants``, ``bare``,
            ``water``), empty for built types.
    """

    code: str
    name: str
    built: bool
    form: str = ""
    height: str = ""
    cover: str = ""


ZONES: tuple[Zone, ...] = (
    Zone("1", "Compact high-rise", True, "compact", "high-rise"),
    Zone("2", "Compact mid-rise", True, "compact", "mid-rise"),
    Zone("3", "Compact low-rise", True, "compact", "low-rise"),
    Zone("4", "Open high-rise", True, "open", "high-rise"),
    Zone("5", "Open mid-rise", True, "open", "mid-rise"),
    Zone("6", "Open low-rise", True, "open", "low-rise"),
    Zone("7", "Lightweight low-rise", True, "lightweight", "low-rise"),
    Zone("8", "Large low-rise", True, "large", "low-rise"),
    Zone("9", "Sparsely built", True, "sparse"),
    Zone("10", "Heavy industry", True, "industrial"),
    Zone("A", "Dense trees", False, cover="trees"),
    Zone("B", "Scattered trees", False, cover="trees"),
    Zone("C", "Bush, scrub", False, cover="bush"),
    Zone("D", "Low plants", False, cover="low plants"),
    Zone("E", "Bare rock or paved", False, cover="bare"),
    Zone("F", "Bare soil or sand", False, cover="bare"),
    Zone("G", "Water", False, cover="water"),
)
"""The 17 zones in one-hot order."""

SCHEME = "lcz17"
