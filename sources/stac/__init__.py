"""Source `stac`: adapter (adapter.py), sample-corpus writer (sample.py).

The adapter's helpers, by concern: options.py (validated options), search.py (static catalog walk,
API search, item fetch), assets.py (asset keys, scaling, declared CRS), signing.py (href signing),
items.py (sensor, tags, times), grid.py (asset headers, chip grid), chips.py (windowed reads,
reprojection, chip files), calibration.py (Sentinel-1 σ0); the sample writer's parts:
sample_scene.py (scene, landscape, COG writer), sample_optical.py (S2 and Landsat assets),
sample_sar.py (S1 GRD).
"""
