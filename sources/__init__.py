"""Sources: one folder per dataset, each reading its real, as-distributed layout.

:mod:`eoinstruct.sources.registry` is the one list of sources; ``sources/<name>/`` holds a
source's adapter, facts, sample-corpus writer and download spec.
"""
