"""KLayout's report database (``.lyrdb``): violations per rule of a DRC run.

An XML file; the standard library's ElementTree reads it.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree


def violations(lyrdb: Path) -> dict[str, int]:
    """Violations per rule, every rule of the deck listed (zero where none was found)."""
    root = ElementTree.parse(lyrdb).getroot()
    counts = {c.findtext("name"): 0 for c in root.iter("category") if c.findtext("name")}
    for item in root.iter("item"):
        rule = (item.findtext("category") or "").strip("'")
        counts[rule] = counts.get(rule, 0) + 1
    return dict(sorted(counts.items()))
