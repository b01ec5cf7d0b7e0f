"""Facts of the source ``treesatai`` (TreeSatAI Benchmark Archive), stated once.

The adapter, the download spec, the README sources table and the corpus card read them.
"""

from __future__ import annotations

from eoinstruct.sources.base import Band, SourceFacts
from eoinstruct.sources.treesatai.adapter import HOMEPAGE

FACTS = SourceFacts(
    name="treesatai",
    title="TreeSatAI Benchmark Archive v1.0.2 (Zenodo 6780578), 60 m aerial patches",
    homepage=HOMEPAGE,
    modalities=("infrared",),
    sensors=("aerial colour-infrared orthophotos (Lower Saxony)",),
    bands=(
        Band("IR", "near infrared", None, 0.2),
        Band("G", "green", None, 0.2),
        Band("B", "blue", None, 0.2),
        Band("R", "red", None, 0.2),
    ),
    gsd="0.2 m",
    temporal="single",
    tasks=("tree genus classification (multi-label, area fractions)",),
    # CC-BY-4.0: stated by the IGNF/TreeSatAI-Time-Series card that redistributes the
    # archive's aerial patches and labels; the Zenodo record's own licence field is UNVERIFIED.
    licence="CC-BY-4.0 (unverified: stated by the IGNF/TreeSatAI-Time-Series copy)",
    sample_licence="CC-BY-4.0",
    citation=(
        "Ahlswede et al., TreeSatAI Benchmark Archive: a multi-sensor, multi-label dataset "
        "for tree species classification in remote sensing, ESSD 15, 681-695 (2023)"
    ),
    layout="aerial/60m/<file>.tif (+ s1/60m, s2/60m), labels/TreeSatBA_v9_60m_multi_labels.json, "
    "{train,test}_filenames.lst",
    bibtex="""@article{ahlswede2023treesatai,
  author  = {Ahlswede, Steve and Schulz, Christian and Gava, Christiano and Helber, Patrick
             and Bischke, Benjamin and F{\\"o}rster, Michael and Arias, Florencia
             and Hees, J{\\"o}rn and Demir, Beg{\\"u}m and Kleinschmit, Birgit},
  title   = {{TreeSatAI} Benchmark Archive: a multi-sensor, multi-label dataset for tree
             species classification in remote sensing},
  journal = {Earth System Science Data},
  volume  = {15},
  pages   = {681--695},
  year    = {2023},
  doi     = {10.5194/essd-15-681-2023}
}""",
)
