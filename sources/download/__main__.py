"""``python -m eoinstruct.sources.download SOURCE --root DIR`` (same as ``eoinstruct download``)."""

import sys

from eoinstruct.sources.download.cli import main

sys.exit(main())
