"""Source `skyscript`: adapter (adapter.py), sample-corpus writer (sample.py).

The adapter's helpers, by concern: csvs.py (caption CSVs, row index, splits), meta.py (meta pickles,
loaded safely), images.py (imagery sources, file names, JPEG headers, pixel size).
"""
