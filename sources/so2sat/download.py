"""Where and how to download So2Sat LCZ42: ``eoinstruct download so2sat`` (by hand).

The dataset's title, homepage and licence are read from the source's facts (``facts.py``).
mediaTUM (record 1483140, DOI 10.14459/2018mp1483140) serves the files through its data
server, not through plain per-file URLs, so the spec lists them with ``url=None`` and
:data:`SPEC` says how to fetch them. The rsync address follows mediaTUM's usual scheme
(user and password = record id) and is UNVERIFIED for this record; no checksum is published
with the files, so none is enforced. The v3 split folders (``random/``, ``block/``,
``culture_10/``) are named in the instructions only: a listed file lives in the root.
"""

from __future__ import annotations

from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile
from eoinstruct.sources.so2sat.adapter import V2_FILES
from eoinstruct.sources.so2sat.facts import FACTS

_MANUAL = (
    "So2Sat LCZ42 is distributed by mediaTUM (https://mediatum.ub.tum.de/1483140). Fetch "
    "training.h5, validation.h5 and testing.h5 (v2; about 50 GB together) into {root}, e.g. "
    "with rsync -av rsync://m1483140@dataserv.ub.tum.de/m1483140/ {root} (password m1483140; "
    "UNVERIFIED), or the v3 folders random/, block/ and culture_10/ from the same record."
)

SPEC = DownloadSpec(
    facts=FACTS,
    layout="training.h5, validation.h5, testing.h5 (v2) or {random,block,culture_10}/*.h5 (v3)",
    files=(
        *(
            RemoteFile(
                key=name.removesuffix(".h5"),
                name=name,
                url=None,
                note="mediaTUM 1483140; no published checksum",
            )
            for name in V2_FILES
        ),
    ),
    manual=_MANUAL,
)
"""The download spec of the source."""
