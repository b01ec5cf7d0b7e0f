"""The shipped corpus: shard layout, card, manifest, EarthDial export, Hub publish, report."""
