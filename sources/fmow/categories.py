"""The 62 fMoW categories and how they read in text.

The category names are those of fMoW/dataset's README (the folder names under each split,
``airport`` … ``zoo``); the public releases add ``false_detection`` for boxes of no category
(test and sequence ground truth), which this adapter never turns into a sample.
"""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "airport", "airport_hangar", "airport_terminal", "amusement_park", "aquaculture",
    "archaeological_site", "barn", "border_checkpoint", "burial_site", "car_dealership",
    "construction_site", "crop_field", "dam", "debris_or_rubble", "educational_institution",
    "electric_substation", "factory_or_powerplant", "fire_station", "flooded_road", "fountain",
    "gas_station", "golf_course", "ground_transportation_station", "helipad", "hospital",
    "impoverished_settlement", "interchange", "lake_or_pond", "lighthouse", "military_facility",
    "multi-unit_residential", "nuclear_powerplant", "office_building", "oil_or_gas_facility",
    "park", "parking_lot_or_garage", "place_of_worship", "police_station", "port", "prison",
    "race_track", "railway_bridge", "recreational_facility", "road_bridge", "runway",
    "shipyard", "shopping_mall", "single-unit_residential", "smokestack", "solar_farm",
    "space_facility", "stadium", "storage_tank", "surface_mine", "swimming_pool", "toll_booth",
    "tower", "tunnel_opening", "waste_disposal", "water_treatment_facility", "wind_farm", "zoo",
)  # fmt: skip
"""The 62 categories, as the folders and the JSON ``category`` values spell them."""

FALSE_DETECTION = "false_detection"
"""The box category of the ground-truth releases for a box that shows none of the 62."""

SCHEME = "fmow62"
"""The class scheme name of :attr:`~eoinstruct.pipeline.records.Labels.scheme`."""


def category_words(category: str) -> str:
    """Return a category as words: ``parking_lot_or_garage`` → ``parking lot or garage``.

    Args:
        category: One of :data:`CATEGORIES`.

    Returns:
        The name with underscores as spaces (hyphens kept: ``single-unit residential``).
    """
    return category.replace("_", " ")
