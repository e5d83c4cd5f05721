"""qrouter's own patches on regular nets that come closer to another net than the spacing.

After routing, qrouter widens some stretches of a net to its via pads' width and joins
off-grid pins with short stubs, written as the net's special wiring (0.28 um wide on met2,
0.17 um on li1). Next to a power-grid via stack one such patch ended 0.09 um from VGND's met2
pad (met2 spacing 0.14). A patch closer to another net goes where the net's shapes it
touches stay joined without it (a widening, not a stub that is the only way to a pin); the
notch fill (``gap_fill``) then fills what it was for where that keeps clear. Written by hand
for the notch fill's reason (rectangles of one net).
"""

from __future__ import annotations

from collections import defaultdict

from econflow.flow import gap_fill
from econflow.flow.formats import defdata
from econflow.pdk import RoutingLayer


def without_close_patches(
    text: str,
    layers: list[RoutingLayer],
    pads: dict[str, dict[str, gap_fill.Box]],
    cell_lef: str,
) -> tuple[str, int]:
    """The DEF without the patches of regular nets that come closer to another net than
    their layer's spacing and join nothing, and how many went."""
    routed = gap_fill.Routed(text, pads, cell_lef)
    regular = {path.net for path in routed.paths}
    drop: set[int] = set()
    for layer in layers:
        shapes = routed.everything(layer)
        index = gap_fill.Index(shapes, round(layer.spacing * routed.scale))
        patches: dict[tuple[str, int], list[gap_fill.Rect]] = defaultdict(list)
        for shape in routed.special:
            if shape.layer == layer.name and shape.net in regular and shape.wire is not None:
                patches[(shape.net, shape.wire)].append(shape.rect)
        for (net, wire), rects in patches.items():
            if all(index.clear(rect, net) for rect in rects):
                continue
            others = [r for r in shapes[net] if r not in rects]
            if _joined([r for r in others if any(gap_fill.touching(r, p) for p in rects)], others):
                drop.add(wire)
                shapes[net] = others
    return defdata.without_special_wires(text, drop), len(drop)


def _joined(touched: list[gap_fill.Rect], shapes: list[gap_fill.Rect]) -> bool:
    """Whether the ``touched`` shapes lie in one piece of ``shapes``."""
    return any(all(r in piece for r in touched) for piece in gap_fill.pieces(shapes))
