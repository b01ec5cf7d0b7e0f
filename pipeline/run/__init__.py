"""Running stages: partitions, fingerprints, the per-partition runner, in-process or Dask."""
