"""Metal between two shapes of one net that qrouter left closer than the layer's spacing.

qrouter puts a via pad beside a short wrong-way jog of its own net, or two pads of one net a
little apart on one track, leaving a notch narrower than the spacing rule (21 of nano's 79
routing-layer violations on met2). No router setting prevents them, and metal filling the
notch only widens the net's own metal. The fill is one rectangle across the facing sides of
the two shapes, kept only where it stays the layer's spacing away from every other net's
routing and from the placed cells' shapes (from their LEF); it goes to the DEF's special nets
as ``RECT`` shapes. Written by hand: the shapes are rectangles of one net, which needs no
polygon library (KLayout, which has one, runs as a separate program here).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

from econflow.errors import FormatError
from econflow.flow.formats import defdata, lef
from econflow.pdk import RoutingLayer

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in DEF units
Box = tuple[float, float, float, float]  # a via's shape about its origin, µm


@dataclass(frozen=True)
class Fill:
    net: str
    layer: str
    rect: Rect


def fills(
    text: str,
    layers: list[RoutingLayer],
    pads: dict[str, dict[str, Box]],
    cell_lef: str = "",
) -> list[Fill]:
    """The fill for every pair of one net's shapes on each of ``layers`` facing each other
    closer than its spacing without touching, where nothing else comes within the spacing:
    no other net's routing, and none of the placed cells' shapes (from ``cell_lef``)."""
    scale = defdata.units(text)
    paths = defdata.routed_paths(text)
    placed = defdata.components(text)
    sizes = lef.macro_sizes(cell_lef)
    found: dict[tuple[str, str, Rect], Fill] = {}
    for layer in layers:
        spacing = round(layer.spacing * scale)
        shapes = _routing_shapes(paths, layer.name, round(layer.width * scale / 2), pads, scale)
        blocked = dict(shapes)
        blocked[""] = _placed_shapes(placed, lef.macro_rects(cell_lef, layer.name), sizes, scale)
        index = _Index(blocked, spacing)
        for net, rects in shapes.items():
            for a, b in itertools.combinations(rects, 2):
                rect = _between(a, b, spacing)
                key = (net, layer.name, rect)
                if rect is not None and key not in found and index.clear(rect, net):
                    found[key] = Fill(net, layer.name, rect)
    return list(found.values())


def _routing_shapes(
    paths: list[defdata.RoutedPath],
    layer: str,
    half: int,
    pads: dict[str, dict[str, Box]],
    scale: int,
) -> dict[str, list[Rect]]:
    """Net -> its regular routing on ``layer``: each wire leg with its width and half a width
    beyond its ends (DEF's default extension), and the via pads."""
    shapes: dict[str, list[Rect]] = defaultdict(list)
    for path in paths:
        if path.layer == layer:
            for (ax, ay), (bx, by) in itertools.pairwise(path.points):
                shapes[path.net].append(
                    (min(ax, bx) - half, min(ay, by) - half, max(ax, bx) + half, max(ay, by) + half)
                )
        pad = pads.get(path.via or "", {}).get(layer)
        if pad is not None:
            x, y = path.points[-1]
            x0, y0, x1, y1 = (round(v * scale) for v in pad)
            shapes[path.net].append((x + x0, y + y0, x + x1, y + y1))
    return shapes


def _placed_shapes(
    placed: list[defdata.Component],
    rects: dict[str, list[Box]],
    sizes: dict[str, tuple[float, float]],
    scale: int,
) -> list[Rect]:
    """The placed cells' shapes (``rects``: macro -> its shapes on one layer), in DEF units;
    no net: they block every fill."""
    found: list[Rect] = []
    for c in placed:
        for rect in rects.get(c.macro, ()):
            x0, y0, x1, y1 = _oriented(rect, sizes[c.macro], c.orient)
            found.append(
                (c.x + round(x0 * scale), c.y + round(y0 * scale),
                 c.x + round(x1 * scale), c.y + round(y1 * scale))
            )  # fmt: skip
    return found


def _oriented(rect: Box, size: tuple[float, float], orient: str) -> Box:
    """``rect`` after the placement's rotation or flip, in the frame of the placed cell.

    Raises:
        FormatError: an orientation rows of standard cells do not use.
    """
    x0, y0, x1, y1 = rect
    w, h = size
    turned = {
        "N": (x0, y0, x1, y1),
        "S": (w - x1, h - y1, w - x0, h - y0),
        "FN": (w - x1, y0, w - x0, y1),
        "FS": (x0, h - y1, x1, h - y0),
    }
    if orient not in turned:
        raise FormatError(f"a cell placed in orientation {orient}: expected one of {list(turned)}")
    return turned[orient]


def with_fill(text: str, fills: list[Fill]) -> str:
    """The DEF with the fill added to its special nets, one entry per net."""
    if not fills:
        return text
    by_net: dict[str, list[Fill]] = defaultdict(list)
    for fill in fills:
        by_net[fill.net].append(fill)
    entries = "".join(
        f"- {net}\n"
        + "".join(
            f"  + RECT {f.layer} ( {f.rect[0]} {f.rect[1]} ) ( {f.rect[2]} {f.rect[3]} )\n"
            for f in net_fills
        )  # fmt: skip
        + " ;\n"
        for net, net_fills in by_net.items()
    )
    header = defdata.special_nets_header(text)
    if header is None:
        end = text.rindex("END DESIGN")
        return f"{text[:end]}SPECIALNETS {len(by_net)} ;\n{entries}END SPECIALNETS\n\n{text[end:]}"
    start, stop, count = header
    end = text.index("END SPECIALNETS", stop)
    return f"{text[:start]}SPECIALNETS {count + len(by_net)} ;{text[stop:end]}{entries}{text[end:]}"


def _between(a: Rect, b: Rect, spacing: int) -> Rect | None:
    """The rectangle across the facing sides of ``a`` and ``b`` if they face each other
    (their sides overlap across the gap) less than ``spacing`` apart without touching."""
    x0, x1 = max(a[0], b[0]), min(a[2], b[2])
    y0, y1 = max(a[1], b[1]), min(a[3], b[3])
    if x0 < x1 and 0 < y0 - y1 < spacing:  # one above the other
        return (x0, y1, x1, y0)
    if y0 < y1 and 0 < x0 - x1 < spacing:  # side by side
        return (x1, y0, x0, y1)
    return None


class _Index:
    """Other nets' shapes by grid cell, for the check that fill keeps clear of them."""

    def __init__(self, shapes: dict[str, list[Rect]], spacing: int) -> None:
        self.spacing = spacing
        self.cell = max(spacing * 8, 1)
        self.cells: dict[tuple[int, int], list[tuple[str, Rect]]] = defaultdict(list)
        for net, rects in shapes.items():
            for rect in rects:
                for key in self._keys(rect, 0):
                    self.cells[key].append((net, rect))

    def _keys(self, rect: Rect, margin: int) -> list[tuple[int, int]]:
        c = self.cell
        return [
            (i, j)
            for i in range((rect[0] - margin) // c, (rect[2] + margin) // c + 1)
            for j in range((rect[1] - margin) // c, (rect[3] + margin) // c + 1)
        ]

    def clear(self, fill: Rect, net: str) -> bool:
        for key in self._keys(fill, self.spacing):
            for other, rect in self.cells.get(key, ()):
                if other != net and _distance(fill, rect) < self.spacing:
                    return False
        return True


def _distance(a: Rect, b: Rect) -> float:
    dx = max(0, b[0] - a[2], a[0] - b[2])
    dy = max(0, b[1] - a[3], a[1] - b[3])
    return (dx * dx + dy * dy) ** 0.5
