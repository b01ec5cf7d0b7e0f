"""Sample quality: scores, filter thresholds and reasons, de-duplication, splits, filter plots."""
