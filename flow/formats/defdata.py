"""Reading and amending the DEF files of the qflow place-and-route path.

Two amendments are fixes the qflow path needs on sky130hd (docs/architecture.md): I/O pins
that qflow's pin placement puts on the met1 power rails move to the nearest free track clear
of them, and well taps (qflow has no tap insertion) replace fill cells so that no point of a
row is further than half the tap pitch from a tap. The readers give the figures the layout
steps report. The amendments edit the DEF text in place, leaving every other line as qflow's
scripts wrote it for qrouter, which is why the records involved are read from the text.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from econflow.errors import FormatError

_UNITS = re.compile(r"^UNITS DISTANCE MICRONS (\d+) ;", re.MULTILINE)
_DIEAREA = re.compile(r"^DIEAREA \( (-?\d+) (-?\d+) \) \( (-?\d+) (-?\d+) \) ;", re.MULTILINE)
_TRACKS = re.compile(r"^TRACKS ([XY]) (-?[\d.]+) DO (\d+) STEP (\d+) LAYER (\S+) ;", re.MULTILINE)
_COMPONENT = re.compile(
    r"^- (\S+) (\S+) \+ (?:PLACED|FIXED) \( (-?\d+) (-?\d+) \) (\S+) ;$", re.MULTILINE
)
_PIN = re.compile(
    r"^(- (\S+) \+ NET \S+\n\s*\+ LAYER (\S+) \(.*?\n\s*\+ PLACED \( (-?\d+) )(-?\d+)( \) \S+ ;)",
    re.MULTILINE,
)
_SPECIAL_SHAPE = re.compile(r"^(\+ FIXED|  NEW) \S+ \d+ \( -?\d+ -?\d+ \) \( \* \* \) (\S+)$")
_NET = re.compile(r"^- (\S+)\n(.*?);\s*$", re.MULTILINE | re.DOTALL)
_CONNECTION = re.compile(r"\( (\S+) (\S+) \)")
# A routing statement: layer, its points, and the via at its end if any (points may carry
# an extension value, which the lengths here leave out).
_PATH = re.compile(
    r"(?:ROUTED|NEW) (\S+)((?: \( [-\d*]+ [-\d*]+(?: -?\d+)? \))+)(?: ([A-Za-z]\w*))?"
)
_POINT = re.compile(r"\( (\*|-?\d+) (\*|-?\d+)")


class DefError(FormatError):
    """A DEF file lacks what the flow needs, or a fix cannot be made."""


@dataclass(frozen=True)
class Component:
    name: str
    macro: str
    x: int  # lower-left corner, DEF units
    y: int
    orient: str


def units(text: str) -> int:
    """DEF database units per µm."""
    match = _UNITS.search(text)
    if match is None:
        raise DefError("no UNITS DISTANCE MICRONS")
    return int(match.group(1))


def die_area(text: str) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) in DEF units."""
    match = _DIEAREA.search(text)
    if match is None:
        raise DefError("no DIEAREA")
    x0, y0, x1, y1 = (int(v) for v in match.groups())
    return x0, y0, x1, y1


@dataclass(frozen=True)
class Tracks:
    """A TRACKS statement: ``count`` lines across ``axis`` from ``start``, ``step`` apart."""

    axis: str  # X: vertical lines at these x; Y: horizontal lines at these y
    start: int
    count: int
    step: int
    layer: str


def tracks(text: str) -> list[Tracks]:
    return [
        Tracks(m.group(1), round(float(m.group(2))), int(m.group(3)), int(m.group(4)), m.group(5))
        for m in _TRACKS.finditer(text)
    ]


def components(text: str) -> list[Component]:
    section = text[text.find("\nCOMPONENTS") : text.find("\nEND COMPONENTS")]
    return [_component(m) for m in _COMPONENT.finditer(section)]


def _component(m: re.Match[str]) -> Component:
    return Component(m.group(1), m.group(2), int(m.group(3)), int(m.group(4)), m.group(5))


def component_line(line: str) -> Component | None:
    """The component a line of the COMPONENTS section places, if it places one."""
    m = _COMPONENT.fullmatch(line)
    return None if m is None else _component(m)


def rails(placed: list[Component], row_height: int) -> list[int]:
    """y of every row-boundary power rail (DEF units): the bottom and top of each row."""
    rows = {c.y for c in placed}
    return sorted(rows | {y + row_height for y in rows})


def pins(text: str) -> dict[str, tuple[int, int]]:
    """Each I/O pin's placed point (DEF units)."""
    return {m.group(2): (int(m.group(4)), int(m.group(5))) for m in _PIN.finditer(text)}


def move_pins_off_rails(
    text: str, rail_ys: list[int], layer: str, clearance: int, pitch: int
) -> tuple[str, int]:
    """Move each pin on ``layer`` whose centre lies within ``clearance`` of a rail to the
    nearest track (``pitch`` apart) that is clear of every rail and of other pins.

    Returns:
        The amended DEF text and the number of pins moved.
    """
    taken = {(m.group(3), int(m.group(4)), int(m.group(5))) for m in _PIN.finditer(text)}
    low, high = rail_ys[0], rail_ys[-1]
    moved = 0

    def near_rail(y: int) -> bool:
        return any(abs(y - r) < clearance for r in rail_ys)

    def move(m: re.Match[str]) -> str:
        nonlocal moved
        pin_layer, x, y = m.group(3), int(m.group(4)), int(m.group(5))
        if pin_layer != layer or not near_rail(y):
            return m.group(0)
        for k in sorted(range(-64, 65), key=abs):
            candidate = y + k * pitch
            free = (pin_layer, x, candidate) not in taken
            if free and low < candidate < high and not near_rail(candidate):
                taken.discard((pin_layer, x, y))
                taken.add((pin_layer, x, candidate))
                moved += 1
                return f"{m.group(1)}{candidate}{m.group(6)}"
        raise DefError(f"pin {m.group(2)} on {layer}: no free track clear of the power rails")

    return _PIN.sub(move, text), moved


def insert_taps(text: str, fill: str, tap: str, width: int, pitch: int) -> tuple[str, int]:
    """Replace fill cells by well taps so that taps in a row are at most ``pitch`` apart and
    the row ends at most ``pitch / 2`` from one; the tap must be as wide as the fill cell.

    Raises:
        DefError: a row has no fill cell where a tap must go (the core is too full).
    """
    placed = components(text)
    rows: dict[int, list[Component]] = {}
    for c in placed:
        rows.setdefault(c.y, []).append(c)
    chosen: set[str] = set()
    for y, row in sorted(rows.items()):
        row.sort(key=lambda c: c.x)
        start, end = row[0].x, max(c.x for c in row) + width
        fills = [c.x for c in row if c.macro == fill]
        by_x = {c.x: c.name for c in row if c.macro == fill}
        covered = start  # every point left of this is within pitch/2 of a tap
        while covered < end:
            limit = covered + pitch // 2  # the next tap's centre must be at or before this
            candidates = [x for x in fills if covered - pitch // 2 < x + width // 2 <= limit]
            if not candidates:
                scale = units(text)
                raise DefError(
                    f"row {sorted(rows).index(y) + 1} has no {fill} between x = "
                    f"{covered / scale:.2f} and {limit / scale:.2f} um for a well tap: "
                    "the core is too full"
                )
            x = max(candidates)
            chosen.add(by_x[x])
            covered = x + width // 2 + pitch // 2
    count = 0

    def swap(m: re.Match[str]) -> str:
        nonlocal count
        if m.group(1) not in chosen:
            return m.group(0)
        count += 1
        return m.group(0).replace(f"- {m.group(1)} {fill} ", f"- tap_{count} {tap} ", 1)

    return _COMPONENT.sub(swap, text), count


def vias_on(text: str, layer: str) -> set[str]:
    """The vias of the DEF's VIAS section with a shape on ``layer``."""
    found = re.search(r"^VIAS \d+ ;\n(.*?)^END VIAS", text, re.M | re.S)
    section = found.group(1) if found else ""
    return {
        m.group(1)
        for m in re.finditer(r"^- (\S+)\n(.*?);$", section, re.M | re.S)
        if f"RECT {layer} " in m.group(2)
    }


def special_nets_header(text: str) -> tuple[int, int, int] | None:
    """Where the ``SPECIALNETS n ;`` line starts and ends, and n (None without one)."""
    found = re.search(r"^SPECIALNETS (\d+) ;", text, re.M)
    return None if found is None else (found.start(), found.end(), int(found.group(1)))


def drop_special_vias(text: str, vias: set[str]) -> tuple[str, int]:
    """The DEF without the ``vias`` in its special nets (the power stripes' via stacks);
    where one opened a net's routing, the next shape opens it.

    Returns:
        The amended text and the vias dropped.
    """
    found = re.search(r"^SPECIALNETS .*?^END SPECIALNETS", text, re.M | re.S)
    if found is None:
        return text, 0
    start, end = found.span()
    kept: list[str] = []
    dropped, reopen = 0, False
    for line in text[start:end].split("\n"):
        m = _SPECIAL_SHAPE.match(line)
        if m and m.group(2) in vias:
            dropped += 1
            reopen = reopen or m.group(1) == "+ FIXED"
            continue
        if reopen and line.startswith("  NEW "):
            line = "+ FIXED " + line.removeprefix("  NEW ")
        reopen = False
        kept.append(line)
    return text[:start] + "\n".join(kept) + text[end:], dropped


def net_pins(text: str) -> dict[str, list[tuple[str, str]]]:
    """Net -> its connections (instance, pin; ``PIN`` and the port for a design port), from
    the NETS section, in the order the DEF lists them (the routing after them left out)."""
    section = text[text.find("\nNETS") : text.find("\nEND NETS")]
    return {
        m.group(1): _CONNECTION.findall(m.group(2).split("+", 1)[0]) for m in _NET.finditer(section)
    }


@dataclass(frozen=True)
class RoutedVia:
    net: str
    via: str
    x: int  # DEF units
    y: int


@dataclass(frozen=True)
class RoutedPath:
    """One ROUTED/NEW statement of a regular net: a wire through ``points`` (a single point
    for a via alone), ending in ``via`` if one is named."""

    net: str
    layer: str
    points: tuple[tuple[int, int], ...]  # DEF units; ``*`` resolved to the point before
    via: str | None
    span: tuple[int, int] = field(default=(0, 0), compare=False)  # the statement in the text


def routed_paths(text: str) -> list[RoutedPath]:
    """Every path of the regular nets, in the order the DEF lists them."""
    start = text.find("\nNETS")
    section = text[start : text.find("\nEND NETS")]
    found: list[RoutedPath] = []
    for net in _NET.finditer(section):
        for m in _PATH.finditer(net.group(2)):
            points = _points(m.group(2))
            span = (start + net.start(2) + m.start(), start + net.start(2) + m.end())
            found.append(RoutedPath(net.group(1), m.group(1), points, m.group(3), span))
    return found


def path_statement(
    statement: str, path: RoutedPath, points: list[tuple[int, int]], via: str | None
) -> str:
    """``path``'s statement (``ROUTED``/``NEW`` and its layer kept) through other points, ending
    in ``via``."""
    word = statement.split(" ", 1)[0]
    wire = " ".join(f"( {x} {y} )" for x, y in points)
    return f"{word} {path.layer} {wire}" + (f" {via}" if via else "")


def _points(text: str) -> tuple[tuple[int, int], ...]:
    """A path's points, each ``*`` resolved to the point before."""
    points: list[tuple[int, int]] = []
    for x, y in _POINT.findall(text):
        last = points[-1] if points else (0, 0)
        points.append((last[0] if x == "*" else int(x), last[1] if y == "*" else int(y)))
    return tuple(points)


def routed_vias(text: str) -> list[RoutedVia]:
    """Every via the router placed in the regular nets, where it sits (a path's last point)."""
    return [RoutedVia(p.net, p.via, *p.points[-1]) for p in routed_paths(text) if p.via is not None]


def net_wirelength(text: str) -> dict[str, dict[str, float]]:
    """Net -> routed wire length per layer (µm), for the regular nets."""
    scale = units(text)
    found: dict[str, dict[str, float]] = {}
    for path in routed_paths(text):
        lengths = found.setdefault(path.net, {})
        if len(path.points) < 2:
            continue
        run = sum(abs(b[0] - a[0]) + abs(b[1] - a[1]) for a, b in itertools.pairwise(path.points))
        lengths[path.layer] = lengths.get(path.layer, 0.0) + run / scale
    return found


def wirelength(text: str) -> dict[str, float]:
    """Routed wire length per layer (µm) of the regular nets."""
    total: dict[str, float] = {}
    for lengths in net_wirelength(text).values():
        for layer, length in lengths.items():
            total[layer] = total.get(layer, 0.0) + length
    return total


@dataclass(frozen=True)
class SpecialShape:
    """A rectangle of a special net: a leg of a wire (not extended past its ends, DEF's rule
    for special wiring), a layer of a via, or a ``RECT``; DEF units."""

    net: str
    layer: str
    rect: tuple[int, int, int, int]
    wire: int | None = None  # which wiring statement of the section, counting from 0


_SPECIAL_NET = re.compile(r"^- (\S+)\n(.*?);\s*$", re.MULTILINE | re.DOTALL)
_SPECIAL_WIRE = re.compile(
    r"(?:ROUTED|FIXED|COVER|SHIELD \S+|NEW) (\S+) (\d+)((?: \( [-\d*]+ [-\d*]+(?: -?\d+)? \))+)"
    r"(?: ([A-Za-z]\w*))?"
)
_RECT = re.compile(r"RECT (\S+) \( (-?\d+) (-?\d+) \) \( (-?\d+) (-?\d+) \)")


def via_shapes(text: str) -> dict[str, dict[str, tuple[int, int, int, int]]]:
    """The DEF's own vias (its VIAS section): via -> layer -> the bounding box of its
    rectangles there, DEF units about the via's origin."""
    found = re.search(r"^VIAS \d+ ;\n(.*?)^END VIAS", text, re.M | re.S)
    vias: dict[str, dict[str, tuple[int, int, int, int]]] = {}
    for m in re.finditer(r"^- (\S+)\n(.*?);$", found.group(1) if found else "", re.M | re.S):
        layers = vias.setdefault(m.group(1), {})
        for r in _RECT.finditer(m.group(2)):
            x0, y0, x1, y1 = (int(v) for v in r.groups()[1:])
            a = layers.get(r.group(1), (x0, y0, x1, y1))
            layers[r.group(1)] = (min(a[0], x0), min(a[1], y0), max(a[2], x1), max(a[3], y1))
    return vias


def special_shapes(
    text: str, pads: dict[str, dict[str, tuple[int, int, int, int]]]
) -> list[SpecialShape]:
    """Every shape of the special nets: the power grid's, and the patches qrouter adds to
    regular nets there. ``pads``: via -> layer -> its shape about its origin (DEF units),
    for the vias the DEF does not define itself."""
    start = text.find("\nSPECIALNETS")
    section = text[start : text.find("\nEND SPECIALNETS", start)] if start >= 0 else ""
    vias = {**pads, **via_shapes(text)}
    found: list[SpecialShape] = []
    wires = itertools.count()
    for net in _SPECIAL_NET.finditer(section):
        name, body = net.group(1), net.group(2)
        for m in _SPECIAL_WIRE.finditer(body):
            wire = next(wires)
            layer, half = m.group(1), int(m.group(2)) // 2
            points = _points(m.group(3))
            for (ax, ay), (bx, by) in itertools.pairwise(points):
                if (ax, ay) == (bx, by):
                    continue
                across = (0, half) if ay == by else (half, 0)
                found.append(SpecialShape(name, layer, (
                    min(ax, bx) - across[0], min(ay, by) - across[1],
                    max(ax, bx) + across[0], max(ay, by) + across[1],
                ), wire))  # fmt: skip
            x, y = points[-1]
            for via_layer, (x0, y0, x1, y1) in vias.get(m.group(4) or "", {}).items():
                found.append(SpecialShape(name, via_layer, (x + x0, y + y0, x + x1, y + y1)))
        for r in _RECT.finditer(body):
            found.append(SpecialShape(name, r.group(1), tuple(int(v) for v in r.groups()[1:])))
    return found


def without_special_wires(text: str, wires: set[int]) -> str:
    """The DEF without the special nets' wiring statements numbered ``wires`` (as
    ``special_shapes`` numbers them); a net left without any goes.

    Raises:
        DefError: a net to change holds more than wiring statements.
    """
    start = text.find("\nSPECIALNETS")
    if start < 0 or not wires:
        return text
    end = text.find("\nEND SPECIALNETS", start)
    header = special_nets_header(text)
    count = header[2] if header else 0
    entries: list[str] = [text[:start]]
    numbers = itertools.count()
    last = start
    for net in _SPECIAL_NET.finditer(text, start, end):
        statements = [(next(numbers), m) for m in _SPECIAL_WIRE.finditer(net.group(2))]
        kept = [m for n, m in statements if n not in wires]
        if len(kept) == len(statements):
            continue
        rest = _SPECIAL_WIRE.sub("", net.group(2)).replace("+", "").replace("NEW", "").strip()
        if rest:
            raise DefError(f"special net {net.group(1)}: wiring beside other statements ({rest})")
        entries.append(text[last : net.start()])
        if kept:
            first = statements[0][1].group(0).split(" ", 1)[0]
            lines = [f"+ {first} {kept[0].group(0).split(' ', 1)[1]}"]
            lines += [f"  NEW {m.group(0).split(' ', 1)[1]}" for m in kept[1:]]
            entries.append(f"- {net.group(1)}\n" + "\n".join(lines) + " ;\n")
        else:
            count -= 1
        last = net.end()
        if text[last : last + 1] == "\n":
            last += 1
    entries.append(text[last:])
    amended = "".join(entries)
    if header is None:
        return amended
    found = special_nets_header(amended)
    return f"{amended[: found[0]]}SPECIALNETS {count} ;{amended[found[1] :]}"
