"""BigEarthNet class nomenclatures: the 43 CLC-2018 Level-3 names and the 19-class set.

Facts, not code, from the BigEarthNet releases: the 43 names and their CLC codes in the order
used by torchgeo (``torchgeo/datasets/bigearthnet.py``), and the 43→19 mapping of the
BigEarthNet-19 nomenclature (Sumbul et al. 2021; ``OLD2NEW_LABELS_DICT`` in
kai-tub/bigearthnet_common). Eleven 43-class labels have no 19-class equivalent.
"""

from __future__ import annotations

from collections.abc import Iterable

CLC43: tuple[tuple[int, str], ...] = (
    (111, "Continuous urban fabric"),
    (112, "Discontinuous urban fabric"),
    (121, "Industrial or commercial units"),
    (122, "Road and rail networks and associated land"),
    (123, "Port areas"),
    (124, "Airports"),
    (131, "Mineral extraction sites"),
    (132, "Dump sites"),
    (133, "Construction sites"),
    (141, "Green urban areas"),
    (142, "Sport and leisure facilities"),
    (211, "Non-irrigated arable land"),
    (212, "Permanently irrigated land"),
    (213, "Rice fields"),
    (221, "Vineyards"),
    (222, "Fruit trees and berry plantations"),
    (223, "Olive groves"),
    (231, "Pastures"),
    (241, "Annual crops associated with permanent crops"),
    (242, "Complex cultivation patterns"),
    (243, "Land principally occupied by agriculture, with significant areas of natural vegetation"),
    (244, "Agro-forestry areas"),
    (311, "Broad-leaved forest"),
    (312, "Coniferous forest"),
    (313, "Mixed forest"),
    (321, "Natural grassland"),
    (322, "Moors and heathland"),
    (323, "Sclerophyllous vegetation"),
    (324, "Transitional woodland/shrub"),
    (331, "Beaches, dunes, sands"),
    (332, "Bare rock"),
    (333, "Sparsely vegetated areas"),
    (334, "Burnt areas"),
    (411, "Inland marshes"),
    (412, "Peatbogs"),
    (421, "Salt marshes"),
    (422, "Salines"),
    (423, "Intertidal flats"),
    (511, "Water courses"),
    (512, "Water bodies"),
    (521, "Coastal lagoons"),
    (522, "Estuaries"),
    (523, "Sea and ocean"),
)
"""(CLC code, name) of the 43 BigEarthNet v1 classes."""

CLC43_NAMES: tuple[str, ...] = tuple(name for _, name in CLC43)

BEN19_NAMES: tuple[str, ...] = (
    "Urban fabric",
    "Industrial or commercial units",
    "Arable land",
    "Permanent crops",
    "Pastures",
    "Complex cultivation patterns",
    "Land principally occupied by agriculture, with significant areas of natural vegetation",
    "Agro-forestry areas",
    "Broad-leaved forest",
    "Coniferous forest",
    "Mixed forest",
    "Natural grassland and sparsely vegetated areas",
    "Moors, heathland and sclerophyllous vegetation",
    "Transitional woodland, shrub",
    "Beaches, dunes, sands",
    "Inland wetlands",
    "Coastal wetlands",
    "Inland waters",
    "Marine waters",
)
"""The 19 BigEarthNet-19 class names (reBEN labels use these)."""

# 19-class index <- 43-class indices (the indices into CLC43).
_BEN19_FROM_43: tuple[tuple[int, ...], ...] = (
    (0, 1),
    (2,),
    (11, 12, 13),
    (14, 15, 16, 18),
    (17,),
    (19,),
    (20,),
    (21,),
    (22,),
    (23,),
    (24,),
    (25, 31),
    (26, 27),
    (28,),
    (29,),
    (33, 34),
    (35, 36),
    (38, 39),
    (40, 41, 42),
)

CLC43_TO_BEN19: dict[str, str] = {
    CLC43_NAMES[old]: BEN19_NAMES[new] for new, olds in enumerate(_BEN19_FROM_43) for old in olds
}
"""43-class name → 19-class name, for the 32 names that have an equivalent."""


def to_ben19(names: Iterable[str]) -> tuple[str, ...]:
    """Map 43-class names to the sorted, de-duplicated 19-class names.

    Names without a 19-class equivalent (e.g. ``Airports``) are left out, as in BigEarthNet-19.

    Args:
        names: 43-class CLC names.

    Returns:
        The 19-class names, sorted.

    Raises:
        KeyError: If a name is not one of the 43 class names.
    """
    out: set[str] = set()
    for name in names:
        if name not in CLC43_NAMES:
            raise KeyError(f"not a BigEarthNet 43-class name: {name!r}")
        if name in CLC43_TO_BEN19:
            out.add(CLC43_TO_BEN19[name])
    return tuple(sorted(out))
