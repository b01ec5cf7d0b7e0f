"""fMoW band names: the RGB images' and fMoW-full's 4- and 8-band multispectral images'.

Every fMoW JSON carries ``approximate_wavelengths`` (nm), one per band in file order
(``[661, 545, 477]`` for an RGB image: red, green, blue). Bands are named from them, each
wavelength to the nearest band centre of the DigitalGlobe multispectral set
(:data:`MS_BANDS`); without them, the usual DigitalGlobe order is assumed: R, G, B for three
bands, blue, green, red, NIR1 for four, coastal … NIR2 for eight.

UNVERIFIED: fMoW-full's band order and bit depth (no file of it was read); the wavelength
list is how a real file would say otherwise.
"""

from __future__ import annotations

from eoinstruct.sources.base import Band

MS_BANDS: tuple[Band, ...] = (
    Band("coastal", "coastal blue", 427),
    Band("blue", "blue", 478),
    Band("green", "green", 546),
    Band("yellow", "yellow", 608),
    Band("red", "red", 659),
    Band("red_edge", "red edge", 724),
    Band("nir1", "near infrared 1", 831),
    Band("nir2", "near infrared 2", 908),
)
"""The DigitalGlobe (WorldView-2/-3) multispectral bands and their centres in nm."""

RGB_NAMES = ("R", "G", "B")
"""Band names of a three-band image (the RGB JPEGs and fMoW-full's ``_rgb.tif``)."""

_DEFAULT_ORDER: dict[int, tuple[str, ...]] = {
    4: ("blue", "green", "red", "nir1"),
    8: tuple(b.name for b in MS_BANDS),
}


def band_names(count: int, wavelengths: tuple[float, ...]) -> tuple[str, ...] | None:
    """Return the names of an image's bands in file order, or None when they cannot be named.

    Args:
        count: The number of bands in the file.
        wavelengths: ``approximate_wavelengths`` of its JSON (may be empty).

    Returns:
        ``R, G, B`` for a three-band image whose wavelengths (if given) run red, green,
        blue; multispectral names for 4 or 8 bands; None otherwise (another band count,
        wavelengths that do not match the count, or two bands named alike).
    """
    if wavelengths and len(wavelengths) != count:
        return None
    if count == 3:
        if wavelengths and not wavelengths[0] > wavelengths[1] > wavelengths[2]:
            return None
        return RGB_NAMES
    if not wavelengths:
        return _DEFAULT_ORDER.get(count)
    names = tuple(
        min(MS_BANDS, key=lambda b: abs((b.wavelength_nm or 0.0) - w)).name for w in wavelengths
    )
    return names if len(set(names)) == len(names) else None
