"""Reading and writing: atomic files, Parquet records, WebDataset tars, rasters, RGB renderings."""
