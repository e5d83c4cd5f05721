"""Metal between two shapes of one net that qrouter left closer than the layer's spacing.

qrouter puts a via pad beside a short wrong-way jog of its own net, or two pads of one net a
little apart on one track (21 of nano's 79 routing-layer violations on met2), and ends a
pin-access stub 0.01 um short of its own pin's met1 (``dfrtp_1``'s RESET_B, 8 met1
violations), leaving a notch narrower than the spacing rule. No router setting prevents
them, and metal filling the notch only widens the net's own metal. The fill is one
rectangle across the facing sides of the two shapes (two routed shapes, or a routed shape
and one of the net's pins), kept only where it stays the layer's spacing away from every
other net's routing, pins and fill and from the cells' obstructions (from their LEF); it
goes to the DEF's special nets as ``RECT`` shapes. A fill can leave notches of its own (a
pad 0.01 um proud of the wire the fill joins it to: two met3 violations on nano), so fills
are checked against the net's metal in turn until none is left. Written by hand: the shapes
are rectangles of one net, which needs no polygon library (KLayout, which has one, runs as a
separate program here).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterator
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
    no other net's routing or pins, no other net's fill, and no cell's obstructions (from
    ``cell_lef``). A pair is two of the net's routed shapes, or one of them and one of its
    pins' shapes. A fill is metal like any other: the pairs it makes with the net's shapes are
    filled in turn (a fill across a gap can leave a notch beside a pad that stands 0.01 um
    proud of the wire it joins), and so are the small holes and the pieces below the layer's
    minimum area the fills leave, and the notches their patches make."""
    routed = Routed(text, pads, cell_lef)
    found: dict[tuple[str, str, Rect], Fill] = {}
    for layer in layers:
        metal = _LayerMetal(routed, layer, found)
        metal.settle(metal.shapes, routed=True)
        metal.settle(metal.holes_and_patches(), routed=False)
    return list(found.values())


class _LayerMetal:
    """One layer's shapes by net, growing as fills go in, and the fills they need."""

    ROUNDS = 8  # fills that make new notches in turn: 4 rounds on nano (met3), 2026-12-07

    def __init__(
        self, routed: Routed, layer: RoutingLayer, found: dict[tuple[str, str, Rect], Fill]
    ) -> None:
        self.layer, self.scale, self.found = layer, routed.scale, found
        self.spacing = round(layer.spacing * routed.scale)
        self.width = round(layer.width * routed.scale)
        self.shapes = routed.routing(layer)
        self.pins = routed.cells.on(layer.name)
        self.index = Index(routed.everything(layer), self.spacing)

    def settle(self, fresh: dict[str, list[Rect]], routed: bool) -> None:
        """Fill the notches between ``fresh`` shapes (the routing itself with ``routed``, else
        fills) and the nets' others, then between those fills and the rest, until no new notch
        appears."""
        for _ in range(self.ROUNDS):
            fresh = {net: self._between(net, rects, routed) for net, rects in fresh.items()}
            fresh = {net: rects for net, rects in fresh.items() if rects}
            routed = False
            if not fresh:
                return

    def _between(self, net: str, fresh: list[Rect], routed: bool) -> list[Rect]:
        """Fills between ``fresh`` shapes of ``net`` and its others: with ``routed``, the
        routed shapes, notches and necks alike; else fills, whose gaps to the net's shapes
        count only where they are apart (a fill overlaps what it joins) and no metal of the
        net, fills included, covers the gap."""
        rects, pins = self.shapes[net], self.pins.get(net, [])
        fresh = list(fresh)  # the fills below join the net's shapes as they go in
        new = set(fresh)
        old = [r for r in rects if r not in new]
        pairs = itertools.chain(
            ((a, b, True) for a, b in itertools.combinations(fresh, 2)),
            ((a, b, True) for a in fresh for b in old),
            ((a, b, False) for a in fresh for b in pins),
        )
        before = rects + pins  # the routing round reads the net's metal before its fills
        added: list[Rect] = []
        for a, b, routed_only in pairs:
            if not routed and _distance(a, b) == 0:
                continue
            between = _between(a, b, self.spacing, self.width, routed_only)
            if between is None or not self.index.clear(between[0], net):
                continue
            rect, gap = between
            if not _covered(gap, before if routed else rects + pins) and self._add(net, rect):
                added.append(rect)
        return added

    def holes_and_patches(self) -> dict[str, list[Rect]]:
        """Fill each net's holes below the layer's minimum hole area, and give each piece of
        routing below its minimum area a patch; the new metal, by net."""
        added: dict[str, list[Rect]] = defaultdict(list)
        least_hole = self.layer.hole_area * self.scale * self.scale
        for net, rects in list(self.shapes.items()):
            pins = self.pins.get(net, [])
            for piece in pieces(rects + pins):
                for hole in _holes(piece):
                    if _area(hole) < least_hole and all(self.index.clear(r, net) for r in hole):
                        added[net] += [r for r in hole if self._add(net, r)]
                if any(r in pins for r in piece):
                    continue  # a pin's shape, which has the area
                patch = _area_patch(piece, self.layer, self.scale, self.index, net)
                if patch is not None and self._add(net, patch):
                    added[net].append(patch)
        return added

    def _add(self, net: str, rect: Rect) -> bool:
        """Take ``rect`` as fill of ``net``, unless it is already; whether it is new."""
        key = (net, self.layer.name, rect)
        if key in self.found:
            return False
        self.found[key] = Fill(net, self.layer.name, rect)
        self.shapes[net].append(rect)
        self.index.add(net, rect)
        return True


def _holes(piece: list[Rect]) -> list[list[Rect]]:
    """The holes the piece of metal encloses, each as the rectangles that fill it."""
    xs = sorted({v for r in piece for v in (r[0], r[2])})
    ys = sorted({v for r in piece for v in (r[1], r[3])})
    empty = {
        (i, j)
        for i, (x0, x1) in enumerate(itertools.pairwise(xs))
        for j, (y0, y1) in enumerate(itertools.pairwise(ys))
        if not any(r[0] <= x0 and x1 <= r[2] and r[1] <= y0 and y1 <= r[3] for r in piece)
    }
    last_i, last_j = len(xs) - 2, len(ys) - 2
    holes: list[list[Rect]] = []
    while empty:
        cells, todo, outside = [], [empty.pop()], False
        while todo:
            i, j = todo.pop()
            cells.append((i, j))
            outside = outside or i in (0, last_i) or j in (0, last_j)
            for n in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)):
                if n in empty:
                    empty.remove(n)
                    todo.append(n)
        if not outside:
            holes.append([(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i, j in cells])
    return holes


def pieces(rects: list[Rect]) -> list[list[Rect]]:
    """``rects`` grouped into the pieces of metal they make (touching rectangles together)."""
    parent = list(range(len(rects)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in itertools.combinations(range(len(rects)), 2):
        if touching(rects[i], rects[j]):
            parent[root(i)] = root(j)
    groups: dict[int, list[Rect]] = defaultdict(list)
    for i, rect in enumerate(rects):
        groups[root(i)].append(rect)
    return list(groups.values())


def touching(a: Rect, b: Rect) -> bool:
    """Whether two rectangles overlap or touch (a shared edge or corner)."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _area(rects: list[Rect]) -> int:
    """The area the union of ``rects`` covers."""
    xs = sorted({v for r in rects for v in (r[0], r[2])})
    ys = sorted({v for r in rects for v in (r[1], r[3])})
    return sum(
        (x1 - x0) * (y1 - y0)
        for x0, x1 in itertools.pairwise(xs)
        for y0, y1 in itertools.pairwise(ys)
        if any(r[0] <= x0 and x1 <= r[2] and r[1] <= y0 and y1 <= r[3] for r in rects)
    )


def _area_patch(
    piece: list[Rect], layer: RoutingLayer, scale: int, index: Index, net: str
) -> Rect | None:
    """For a piece of ``net``'s metal below ``layer``'s minimum area, a rectangle over it long
    enough along the layer's direction to have the area (centred on it, else from either
    end), clear of everything else; None if the piece has the area or no rectangle is clear."""
    need = math.ceil(layer.area * scale * scale)
    if _area(piece) >= need:
        return None
    x0, y0 = min(r[0] for r in piece), min(r[1] for r in piece)
    x1, y1 = max(r[2] for r in piece), max(r[3] for r in piece)
    along = 1 if layer.direction == "vertical" else 0
    lo, hi = (x0, x1) if along == 0 else (y0, y1)
    side_lo, side_hi = (y0, y1) if along == 0 else (x0, x1)
    length = max(hi - lo, math.ceil(need / (side_hi - side_lo)))
    for start in (lo - (length - (hi - lo)) // 2, lo, hi - length):
        a, b = start, start + length
        patch = (a, side_lo, b, side_hi) if along == 0 else (side_lo, a, side_hi, b)
        if index.clear(patch, net):
            return patch
    return None


class CellShapes:
    """The placed cells' shapes by net, read once for all layers."""

    def __init__(self, text: str, cell_lef: str) -> None:
        self.scale = defdata.units(text)
        self.cell_lef = cell_lef
        self.sizes = lef.macro_sizes(cell_lef)
        self.cells = defdata.components(text)
        self.net_of = {pin: net for net, on in defdata.net_pins(text).items() for pin in on}
        self._on: dict[str, dict[str, list[Rect]]] = {}

    def on(self, layer: str) -> dict[str, list[Rect]]:
        """Net -> the shapes its pins draw on ``layer``, in DEF units; the cells' obstructions
        and the pins of no regular net (the supplies) under ``""``. Not to be changed: it is
        read once per layer."""
        if layer not in self._on:
            self._on[layer] = self._read(layer)
        return self._on[layer]

    def _read(self, layer: str) -> dict[str, list[Rect]]:
        pins = lef.pin_rects(self.cell_lef, layer)
        obstructions = lef.obstruction_rects(self.cell_lef, layer)
        found: dict[str, list[Rect]] = defaultdict(list)
        for cell in self.cells:
            if cell.macro not in self.sizes:
                continue
            size = self.sizes[cell.macro]
            for rect in obstructions.get(cell.macro, ()):
                found[""].append(placed_rect(rect, cell, size, self.scale))
            for pin, rects in pins.get(cell.macro, {}).items():
                net = self.net_of.get((cell.name, pin), "")
                found[net].extend(placed_rect(rect, cell, size, self.scale) for rect in rects)
        return found


class Routed:
    """A routed DEF's shapes, read once: the regular nets' routing (wires, via pads and the
    patches qrouter adds to them in the special nets), the other special nets' shapes (the
    power grid's) and the placed cells' pins and obstructions; DEF units."""

    def __init__(self, text: str, pads: dict[str, dict[str, Box]], cell_lef: str) -> None:
        self.scale = defdata.units(text)
        self.paths = defdata.routed_paths(text)
        self.pads = scaled(pads, self.scale)
        self.cells = CellShapes(text, cell_lef)
        self.special = defdata.special_shapes(text, self.pads)

    def routing(self, layer: RoutingLayer) -> dict[str, list[Rect]]:
        """Regular net -> its shapes on ``layer``: wires, via pads and special-net patches."""
        shapes = self._wires(layer)
        for shape in self.special:
            if shape.layer == layer.name and shape.net in shapes:
                shapes[shape.net].append(shape.rect)
        return shapes

    def everything(self, layer: RoutingLayer) -> dict[str, list[Rect]]:
        """Net -> every shape of it on ``layer``: its routing, special wiring and pins; the
        cells' obstructions and unconnected pins under ``""``."""
        found = self._wires(layer)
        for net, rects in self.fixed(layer.name).items():
            found[net].extend(rects)
        return found

    def fixed(self, layer: str) -> dict[str, list[Rect]]:
        """Net -> its shapes on ``layer`` outside the regular routing: its pins' and its
        special wiring's; the cells' obstructions and unconnected pins under ``""``."""
        found = defaultdict(list, {net: list(rects) for net, rects in self.cells.on(layer).items()})
        for shape in self.special:
            if shape.layer == layer:
                found[shape.net].append(shape.rect)
        return found

    def pads_on(self, layer: str) -> dict[str, Rect]:
        """Via -> its pad on ``layer``, for the vias with one there."""
        return {via: on[layer] for via, on in self.pads.items() if layer in on}

    def _wires(self, layer: RoutingLayer) -> dict[str, list[Rect]]:
        half = round(layer.width * self.scale / 2)
        on_layer = self.pads_on(layer.name)
        shapes: dict[str, list[Rect]] = defaultdict(list)
        for path in self.paths:
            shapes[path.net].extend(wire_rects(path, layer.name, half, on_layer))
        return shapes


def wire_rects(
    path: defdata.RoutedPath, layer: str, half: int, pads: dict[str, Rect]
) -> list[Rect]:
    """A routing statement's legs on ``layer`` (``half`` its half width, also the extension
    past its ends) and its via's pad there (``pads``: via -> its pad on ``layer``)."""
    found: list[Rect] = []
    if path.layer == layer:
        found += [leg_rect(a, b, half) for a, b in itertools.pairwise(path.points)]
    pad = pads.get(path.via or "")
    if pad is not None:
        x, y = path.points[-1]
        found.append((x + pad[0], y + pad[1], x + pad[2], y + pad[3]))
    return found


def leg_rect(a: tuple[int, int], b: tuple[int, int], half: int) -> Rect:
    """A wire from ``a`` to ``b``, ``half`` its half width and its extension past the ends."""
    return (min(a[0], b[0]) - half, min(a[1], b[1]) - half,
            max(a[0], b[0]) + half, max(a[1], b[1]) + half)  # fmt: skip


def scaled(pads: dict[str, dict[str, Box]], scale: int) -> dict[str, dict[str, Rect]]:
    """Via pads in DEF units."""
    return {
        via: {layer: tuple(round(v * scale) for v in box) for layer, box in shapes.items()}
        for via, shapes in pads.items()
    }


def placed_rect(rect: Box, cell: defdata.Component, size: tuple[float, float], scale: int) -> Rect:
    """A rectangle of a cell's LEF (µm, in the macro's frame) where the placed ``cell`` puts it,
    in DEF units.

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
    if cell.orient not in turned:
        raise FormatError(
            f"a cell placed in orientation {cell.orient}: expected one of {list(turned)}"
        )
    a, b, c, d = turned[cell.orient]
    return (
        cell.x + round(a * scale), cell.y + round(b * scale),
        cell.x + round(c * scale), cell.y + round(d * scale),
    )  # fmt: skip


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


def _between(a: Rect, b: Rect, spacing: int, width: int, corners: bool) -> tuple[Rect, Rect] | None:
    """The rectangle joining ``a`` and ``b`` where their sides face each other less than
    ``spacing`` apart (a notch), or where they touch along less than ``width`` (a neck,
    filled ``width`` deep into both), and the gap or join itself. Where the sides overlap
    by less than ``width``, the fill spans both shapes' sides, so that it leaves no neck of
    its own. With ``corners``, also where they face each other across a corner only (two
    routed shapes: a cell's LEF does not show all of its metal, which a fill by a pin's
    corner may come close to)."""
    for along in (0, 1):  # 0: the sides run along x (one shape above the other); 1: along y
        across = 1 - along
        lo, hi = max(a[along], b[along]), min(a[along + 2], b[along + 2])
        near, far = min(a[across + 2], b[across + 2]), max(a[across], b[across])
        if lo >= hi or not 0 <= far - near < spacing:
            continue
        gap = (lo, near, hi, far) if along == 0 else (near, lo, far, hi)
        if far == near:
            if hi - lo >= width:
                continue
            narrow = min((a, b), key=lambda r: r[along + 2] - r[along])
            lo, hi, near, far = narrow[along], narrow[along + 2], near - width, far + width
        elif hi - lo < width:
            lo, hi = min(a[along], b[along]), max(a[along + 2], b[along + 2])
        return ((lo, near, hi, far) if along == 0 else (near, lo, far, hi)), gap
    return _corner(a, b, spacing, width) if corners else None


def _corner(a: Rect, b: Rect, spacing: int, width: int) -> tuple[Rect, Rect] | None:
    """Where ``a`` and ``b`` face each other only across a corner, closer than ``spacing``
    (two pads of one net set diagonally, 0.134 um apart on met1): the square across the
    gap, grown into both shapes until it is ``width`` wide, and the gap itself."""
    gx0, gx1 = sorted((min(a[2], b[2]), max(a[0], b[0])))
    gy0, gy1 = sorted((min(a[3], b[3]), max(a[1], b[1])))
    if not (a[2] < b[0] or b[2] < a[0]) or not (a[3] < b[1] or b[3] < a[1]):
        return None
    if math.hypot(gx1 - gx0, gy1 - gy0) >= spacing:
        return None
    grow = max(0, -(-(width - min(gx1 - gx0, gy1 - gy0)) // 2))
    fill = (gx0 - grow, gy0 - grow, gx1 + grow, gy1 + grow)
    return fill, (gx0, gy0, gx1, gy1)


def _covered(rect: Rect, shapes: list[Rect]) -> bool:
    """Whether ``shapes`` cover all of ``rect``, a gap (other metal of the net filling it:
    no notch); a join of no area (a neck) is never covered."""
    if rect[0] == rect[2] or rect[1] == rect[3]:
        return False
    clipped = [
        (max(r[0], rect[0]), max(r[1], rect[1]), min(r[2], rect[2]), min(r[3], rect[3]))
        for r in shapes
        if touching(r, rect)
    ]
    return _area(clipped) == (rect[2] - rect[0]) * (rect[3] - rect[1])


class Index:
    """Shapes by net and grid cell, for the check that new metal keeps clear of other nets'."""

    def __init__(self, shapes: dict[str, list[Rect]], spacing: int) -> None:
        self.spacing = spacing
        self.cell = max(spacing * 8, 1)
        self.cells: dict[tuple[int, int], list[tuple[str, Rect]]] = defaultdict(list)
        for net, rects in shapes.items():
            for rect in rects:
                self.add(net, rect)

    def add(self, net: str, rect: Rect) -> None:
        for key in self._keys(rect, 0):
            self.cells[key].append((net, rect))

    def remove(self, net: str, rect: Rect) -> None:
        for key in self._keys(rect, 0):
            self.cells[key].remove((net, rect))

    def _keys(self, rect: Rect, margin: int) -> list[tuple[int, int]]:
        c = self.cell
        return [
            (i, j)
            for i in range((rect[0] - margin) // c, (rect[2] + margin) // c + 1)
            for j in range((rect[1] - margin) // c, (rect[3] + margin) // c + 1)
        ]

    def clear(self, fill: Rect, net: str) -> bool:
        """Whether no other net's shape comes closer to ``fill`` than the spacing."""
        return next(self._near(fill, net), None) is None

    def near(self, rect: Rect, net: str) -> list[tuple[str, Rect]]:
        """The other nets' shapes closer to ``rect`` than the spacing, each once."""
        return list(dict.fromkeys(self._near(rect, net)))

    def _near(self, rect: Rect, net: str) -> Iterator[tuple[str, Rect]]:
        for key in self._keys(rect, self.spacing):
            for other, shape in self.cells.get(key, ()):
                if other != net and _distance(rect, shape) < self.spacing:
                    yield other, shape


def _distance(a: Rect, b: Rect) -> float:
    dx = max(0, b[0] - a[2], a[0] - b[2])
    dy = max(0, b[1] - a[3], a[1] - b[3])
    return (dx * dx + dy * dy) ** 0.5
