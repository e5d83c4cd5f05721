"""What qrouter leaves against the spacing rules, repaired in the routed DEF, in an order
where each repair sees the one before: dead-end spurs trimmed (``spurs``), one of two close
cuts of a net dropped (``redundant_cuts``), vias turned or moved back onto their wire
(``via_variants``), pin-access stubs that join nothing the via does not (``spurs``), a wire
of another net nudged off a via pad that cannot move (``nudges``), qrouter's own patches
that then come too close to another net and join nothing dropped (``patches``), and last the
fill of notches, necks, small holes and small pieces (``gap_fill``), which sees all the
metal the others left (docs/architecture.md, section 5).
"""

from __future__ import annotations

from dataclasses import dataclass

from econflow.flow import gap_fill, nudges, patches, redundant_cuts, spurs, via_variants
from econflow.pdk import CutLayer, RoutingLayer


@dataclass(frozen=True)
class Repairs:
    spurs_trimmed: int
    cuts_merged: int
    vias_turned: int
    wires_nudged: int
    patches_dropped: int
    notch_fills: int


def repaired(
    text: str,
    layers: list[RoutingLayer],
    cuts: list[CutLayer],
    pads: dict[str, dict[str, gap_fill.Box]],
    cell_lef: str,
) -> tuple[str, Repairs]:
    """The routed DEF repaired, and how many of each repair it took."""
    text, trimmed = spurs.without_spurs(text, layers, pads, cell_lef)
    text, merged = redundant_cuts.without_redundant_cuts(text, cuts, layers, pads, cell_lef)
    text, turned = via_variants.with_turned_vias(text, layers, pads, cell_lef)
    text, stubs = spurs.without_redundant_stubs(text, layers, pads, cell_lef)
    text, nudged = nudges.with_nudged_wires(text, layers, pads, cell_lef)
    text, dropped = patches.without_close_patches(text, layers, pads, cell_lef)
    fill = gap_fill.fills(text, layers, pads, cell_lef)
    return gap_fill.with_fill(text, fill), Repairs(
        trimmed, merged, turned, nudged, dropped, len(fill)
    )
