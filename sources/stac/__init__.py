"""Source `stac`: facts.py, adapter.py, sample.py.

facts.py (its facts, stated once), adapter.py (the reader), sample.py (the sample-corpus writer);
no download.py: it reads a static catalog or a STAC API.

The adapter's helpers, by concern: options.py (validated options), search.py (static catalog walk,
API search, item fetch), assets.py (asset keys, scaling, declared CRS), signing.py (href signing),
items.py (sensor, tags, times), grid.py (asset headers, chip grid), chips.py (windowed reads,
reprojection, chip files), calibration.py (Sentinel-1 σ0), thermal.py (temperature figures),
series.py (one tile's or path/row's items as one time-series sample, NDVI figures); the
sample writer's parts: sample_scene.py (scene, landscape, COG writer), sample_optical.py (S2 and
Landsat assets), sample_sar.py (S1 GRD).
"""
