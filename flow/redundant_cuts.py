"""Cuts of one net that qrouter left closer together than the cut layer's spacing.

qrouter taps a net's li1 (a cell pin, or the net's own li1 wire) from two neighbouring met1
tracks, each branch with its own mcon: two cuts 0.17 um apart where sky130 asks 0.19 (12 of
nano's 21 routing-layer violations after the notch fill). Metal can fill a notch, but two
cuts cannot merge, so one goes, and only where the layer below already joins the two: what
touched the dropped cut's pad there (the net's wires, patches and pins' shapes) still joins
the kept cut's pad. The branch that ended on the dropped cut then runs on, on the layer
above, to the kept cut. Written by hand for the notch fill's reason (rectangles of one net;
no polygon library runs in this process).
"""

from __future__ import annotations

from collections import defaultdict

from econflow.flow import gap_fill
from econflow.flow.formats import defdata
from econflow.pdk import CutLayer, RoutingLayer

Rect = gap_fill.Rect
Box = gap_fill.Box


def without_redundant_cuts(
    text: str,
    cuts: list[CutLayer],
    layers: list[RoutingLayer],
    pads: dict[str, dict[str, Box]],
    cell_lef: str,
) -> tuple[str, int]:
    """The DEF with one cut of each close pair of one net's cuts dropped where the layer
    below joins them, and how many went.

    Only pairs in one row or column are merged: the branch of the dropped cut runs straight
    to the kept one, inside the two cuts' pads."""
    routed = gap_fill.Routed(text, pads, cell_lef)
    scale, paths = routed.scale, routed.paths
    widths = {layer.name: layer.width for layer in layers}
    edits: list[tuple[tuple[int, int], str]] = []
    for cut in cuts:
        if cut.below not in widths or cut.above not in widths:
            continue
        vias = {via for via, shapes in pads.items() if cut.name in shapes}
        reach = round((cut.size + cut.spacing) * scale)
        ends: dict[str, list[defdata.RoutedPath]] = defaultdict(list)
        for path in paths:
            if path.via in vias:
                ends[path.net].append(path)
        below = _Below(routed, cut.below, widths[cut.below])
        for net, on_net in ends.items():
            kept: list[defdata.RoutedPath] = []
            for path in on_net:
                b = path.points[-1]
                partner = next(
                    (k for k in kept if _close(k.points[-1], b, reach)
                     and below.joins(net, k.points[-1], b, path)),
                    None,
                )  # fmt: skip
                if partner is None:
                    kept.append(path)
                else:
                    edits.append((path.span, _bridged(text, path, partner.points[-1], cut.above)))
    for (start, end), statement in sorted(edits, reverse=True):
        text = text[:start] + statement + text[end:]
    return text, len(edits)


def _close(a: tuple[int, int], b: tuple[int, int], reach: int) -> bool:
    """Two cuts in one row or column with their centres less than a cut and its spacing
    apart (not on one point: that is one cut named twice)."""
    dx, dy = abs(a[0] - b[0]), abs(a[1] - b[1])
    return (dx == 0 or dy == 0) and 0 < dx + dy < reach


def _bridged(text: str, path: defdata.RoutedPath, to: tuple[int, int], above: str) -> str:
    """``path``'s statement without its via, and the layer above running on from where the
    via was to ``to``."""
    statement = text[path.span[0] : path.span[1]]
    word = statement.split(" ", 1)[0]
    bare = statement[: -len(path.via or "")].rstrip()
    (bx, by), (tx, ty) = path.points[-1], to
    if path.layer == above and len(path.points) > 1:
        return f"{bare} ( {tx} {ty} )"
    bridge = f"{above} ( {bx} {by} ) ( {tx} {ty} )"
    if len(path.points) == 1:
        return f"{word} {bridge}"
    return f"{bare}\n  NEW {bridge}"


class _Below:
    """The nets' shapes on the layer below a cut: their wires (with the half-width extension
    DEF gives their ends), via pads, special-net patches and pins' shapes, in DEF units."""

    def __init__(self, routed: gap_fill.Routed, layer: str, width: float) -> None:
        self.layer = layer
        self.half = round(width * routed.scale / 2)
        self.pads = routed.pads_on(layer)
        self.paths: dict[str, list[defdata.RoutedPath]] = defaultdict(list)
        for path in routed.paths:
            self.paths[path.net].append(path)
        self.fixed = routed.fixed(layer)

    def joins(
        self, net: str, a: tuple[int, int], b: tuple[int, int], dropped: defdata.RoutedPath
    ) -> bool:
        """Whether, without ``dropped``'s via pad at ``b``, the net's shapes that touched
        that pad are still joined to the pad at ``a``."""
        shapes = self.fixed.get(net, []) + [
            rect
            for path in self.paths[net]
            for rect in gap_fill.wire_rects(
                path, self.layer, self.half, {} if path is dropped else self.pads
            )
        ]
        x0, y0, x1, y1 = self.pads[dropped.via or ""]
        pad = (b[0] + x0, b[1] + y0, b[0] + x1, b[1] + y1)
        touched = [r for r in shapes if gap_fill.touching(r, pad)]
        for piece in gap_fill.pieces(shapes):
            if any(r[0] <= a[0] <= r[2] and r[1] <= a[1] <= r[3] for r in piece):
                return bool(touched) and all(r in piece for r in touched)
        return False
