"""Source adapters: one module per dataset, each reading its real, as-distributed layout."""
