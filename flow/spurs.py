"""Dead ends in qrouter's wires: a leg that runs out and straight back along itself.

qrouter's access to an off-grid pin often leaves one: to reach ``dfrtp_1``'s RESET_B it runs a
met1 stub up from the track, turns back down past its start and goes sideways onto the pin's
side, and the stub's tip ends 0.01 um below the pin's other edge (met1 spacing 0.14: 8 of
nano's routing-layer violations). The run out and back joins nothing: where no other shape
of the net (its pins, its other wires, via pads and special-net patches) touches the part
that goes, that part goes. Filling the gap to the pin instead leaves a step that the width
rule flags. A pin-access stub from a via onto a pin the via's own pad already lands on joins
nothing either: qrouter sets an mcon 0.05 um off its li1 track onto ``dfrtp_1``'s RESET_B and
runs the li1 stub from the track, 0.12 um from the cell's li1 (spacing 0.17); where such a
stub comes too close to another net, it goes. Written by hand for the notch fill's reason
(rectangles of one net).
"""

from __future__ import annotations

import re
from collections import defaultdict

from econflow.flow import gap_fill
from econflow.flow.formats import defdata
from econflow.pdk import RoutingLayer

Rect = gap_fill.Rect
Point = tuple[int, int]
_EXTENSION = re.compile(r"\( [-\d*]+ [-\d*]+ -?\d+ \)")


def without_spurs(
    text: str,
    layers: list[RoutingLayer],
    pads: dict[str, dict[str, gap_fill.Box]],
    cell_lef: str,
) -> tuple[str, int]:
    """The DEF with every dead end that touches nothing else of its net taken out of its
    wire, and how many went."""
    routed = gap_fill.Routed(text, pads, cell_lef)
    paths = routed.paths
    by_net: dict[str, list[defdata.RoutedPath]] = defaultdict(list)
    for path in paths:
        by_net[path.net].append(path)
    edits: list[tuple[tuple[int, int], str]] = []
    for layer in layers:
        half = round(layer.width * routed.scale / 2)
        on_layer = routed.pads_on(layer.name)
        fixed = routed.fixed(layer.name)
        for path in paths:
            if path.layer != layer.name or len(path.points) < 3:
                continue
            statement = text[path.span[0] : path.span[1]]
            if _EXTENSION.search(statement):
                continue
            others = fixed[path.net] + [
                rect
                for other in by_net[path.net]
                if other is not path
                for rect in gap_fill.wire_rects(other, layer.name, half, on_layer)
            ]
            kept = _trimmed(path.points, half, others)
            if len(kept) < len(path.points):
                edits.append((path.span, defdata.path_statement(statement, path, kept, path.via)))
    for (start, end), statement in sorted(edits, reverse=True):
        text = text[:start] + statement + text[end:]
    return text, len(edits)


def without_redundant_stubs(
    text: str,
    layers: list[RoutingLayer],
    pads: dict[str, dict[str, gap_fill.Box]],
    cell_lef: str,
) -> tuple[str, int]:
    """The DEF without the pin-access stubs (a two-point wire, no via) that come closer to
    another net than the spacing, where the shapes of the net they touch, a via pad among
    them, are one piece of metal without them; how many went."""
    routed = gap_fill.Routed(text, pads, cell_lef)
    spans: list[tuple[int, int]] = []
    for layer in layers:
        half = round(layer.width * routed.scale / 2)
        on_layer = routed.pads_on(layer.name)
        index = gap_fill.Index(routed.everything(layer), round(layer.spacing * routed.scale))
        shapes = routed.everything(layer)
        vias: dict[str, list[Rect]] = defaultdict(list)
        for p in routed.paths:
            if p.via in on_layer:
                vias[p.net].append(gap_fill.wire_rects(p, layer.name, 0, on_layer)[-1])
        for path in routed.paths:
            if path.layer != layer.name or len(path.points) != 2 or path.via is not None:
                continue
            if not text.startswith("NEW", path.span[0]):  # the net's first statement stays
                continue
            stub = gap_fill.leg_rect(*path.points, half)
            if index.clear(stub, path.net):
                continue
            rest = [r for r in shapes[path.net] if r != stub]
            touched = {r for r in rest if gap_fill.touching(r, stub)}
            joined = [set(piece) for piece in gap_fill.pieces(rest) if touched & set(piece)]
            if len(joined) == 1 and touched & set(vias[path.net]):
                spans.append(path.span)
    for start, end in sorted(spans, reverse=True):
        text = text[: text.rindex("\n", 0, start)] + text[end:]  # its line goes
    return text, len(spans)


def _trimmed(points: tuple[Point, ...], half: int, others: list[Rect]) -> list[Point]:
    """``points`` without each turning point where the wire runs straight back along
    itself, when nothing in ``others`` touches the part beyond the wire's base there
    without also covering the base."""
    kept = list(points)
    i = 1
    while i < len(kept) - 1:
        a, b, d = kept[i - 1], kept[i], kept[i + 1]
        spur = _spur(a, b, d, half)
        if spur is not None and not _touched(*spur, others):
            del kept[i]
            i = max(i - 1, 1)
        else:
            i += 1
    return kept


def _spur(a: Point, b: Point, d: Point, half: int) -> tuple[Rect, Point] | None:
    """The part of the wire that runs from ``a`` out to ``b`` and back towards ``d``
    beyond the farther of the two (with the wire's half width and its end's extension),
    and that base point; None if the wire does not turn back at ``b``."""
    for k in (0, 1):
        if a[1 - k] == b[1 - k] == d[1 - k] and (b[k] - a[k]) * (d[k] - b[k]) < 0:
            out = 1 if b[k] > a[k] else -1
            base_k = max(a[k] * out, d[k] * out) * out
            lo, hi = sorted((base_k + out * half, b[k] + out * half))
            across = b[1 - k]
            rect = (lo, across - half, hi, across + half)
            base = (base_k, across)
            if k == 1:
                rect = (rect[1], rect[0], rect[3], rect[2])
                base = (across, base_k)
            return rect, base
    return None


def _touched(spur: Rect, base: Point, others: list[Rect]) -> bool:
    return any(
        gap_fill.touching(r, spur) and not gap_fill.touching(r, (*base, *base)) for r in others
    )
