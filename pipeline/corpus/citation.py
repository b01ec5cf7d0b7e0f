"""How to cite a corpus: the BibTeX of eoinstruct, of EarthDial and of every source.

Each source states its entries once, in ``sources/<name>/facts.py`` (``SourceFacts.bibtex``);
the card prints those of the sources present.
"""

from __future__ import annotations

from collections.abc import Mapping

import eoinstruct
from eoinstruct.sources.base import SourceFacts

EOINSTRUCT_BIBTEX = f"""@software{{eoinstruct,
  author  = {{{{The eoinstruct developers}}}},
  title   = {{eoinstruct: building {{EarthDial-Instruct}}-style instruction corpora for Earth
             observation}},
  version = {{{eoinstruct.__version__}}},
  year    = {{2026}}
}}"""
"""How to cite eoinstruct (title, authors and year as ``CITATION.cff`` states them)."""

EARTHDIAL_BIBTEX = """@inproceedings{soni2025earthdial,
  author        = {Soni, Sagar and Dudhane, Akshay and Debary, Hiyam and Fiaz, Mustansar and
                   Munir, Muhammad Akhtar and Danish, Muhammad Sohail and Fraccaro, Paolo and
                   Watson, Campbell D. and Klein, Levente J. and Khan, Fahad Shahbaz and
                   Khan, Salman},
  title         = {{EarthDial}: Turning Multi-sensory Earth Observations to Interactive
                   Dialogues},
  booktitle     = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern
                   Recognition (CVPR)},
  year          = {2025},
  eprint        = {2412.15190},
  archivePrefix = {arXiv}
}"""
"""EarthDial, whose instruction format the corpus follows (authors as arXiv:2412.15190 lists
them; the CVPR 2025 pages are left out, unconfirmed)."""


def citation_section(infos: Mapping[str, SourceFacts]) -> list[str]:
    """Return the card's ``Citation`` section: eoinstruct, EarthDial, then each source.

    Args:
        infos: Facts of the sources in the corpus, by name.

    Returns:
        Markdown lines: two ``bibtex`` blocks, the second with every source's entries
        (each source's preceded by a ``%`` line naming it).
    """
    entries = []
    for name, info in sorted(infos.items()):
        entries.append(f"% {name}")
        entries.append(info.bibtex.strip() or f"% ({name} states no BibTeX)")
        entries.append("")
    return [
        "## Citation",
        "",
        "If you use this corpus, cite eoinstruct, EarthDial (whose instruction format it "
        "follows) and every source whose pairs you use:",
        "",
        "```bibtex",
        EOINSTRUCT_BIBTEX,
        "",
        EARTHDIAL_BIBTEX,
        "```",
        "",
        "Sources:",
        "",
        "```bibtex",
        *entries[:-1],
        "```",
        "",
    ]
