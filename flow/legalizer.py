"""The rows of a placed DEF: which sites are free, the nearest free spot for a cell away from
keep-out boxes, and the DEF with cells moved or added.

graywolf has no incremental mode: once it has placed a design, a cell that must move (a TMR
copy too close to the other copies of its bit) or be added (a buffer) goes into free sites
here. qflow's placement fills the rows edge to edge with cells, well taps and one-site fill
cells, so the free sites are those the fill cells hold; a moved cell leaves fill behind. No
installable library legalizes a DEF placement (OpenROAD's detailed placer is not available on
these machines), which is why this is written by hand.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from econflow.flow.formats import defdata
from econflow.flow.formats.defdata import Component, DefError

_FREE = re.compile(rb"\x00+")


@dataclass(frozen=True)
class Box:
    """A cell's bounding box (DEF units)."""

    x0: int
    y0: int
    x1: int
    y1: int

    def distance(self, other: Box) -> float:
        """Edge to edge: 0 for boxes that touch or overlap."""
        dx = max(0, other.x0 - self.x1, self.x0 - other.x1)
        dy = max(0, other.y0 - self.y1, self.y0 - other.y1)
        return math.hypot(dx, dy)


@dataclass(frozen=True)
class Move:
    """Where a cell goes, what the move costs (DEF units: its own displacement plus the shifts
    of the neighbours it pushes along the row) and the pushed neighbours' new x."""

    cost: int
    x: int
    y: int
    pushed: tuple[tuple[str, int], ...] = ()


class Rows:
    """The placement rows and the cells in them, to move cells and add new ones.

    A cell goes into a row where the row has room, pushing its neighbours along the row into
    the fill around them. With a ``tap_pitch``, no run of abutting cells may grow so long
    that ``defdata.insert_taps`` would find no fill for a well tap afterwards: a tap centre
    within half a pitch of every point of the row holds exactly when a free site starts
    within a pitch after each free site (runs of at most ``pitch / site - 1`` cells' sites),
    within half a pitch of the row's start and of its end. Any free site may take a tap, so
    a move may fill any site as long as the runs it leaves keep these lengths.

    Args:
        text: the placed DEF (rows filled edge to edge, no well taps yet).
        sizes: macro -> (width, height) in µm, from the cell LEF.
        fill: the one-site fill cell that marks a free site (and the tap's width).
        tap_pitch: the well taps' pitch (DEF units; runs not limited when None).
    """

    def __init__(
        self,
        text: str,
        sizes: dict[str, tuple[float, float]],
        fill: str,
        tap_pitch: int | None = None,
    ) -> None:
        self.scale = defdata.units(text)
        self.fill = fill
        self.site = round(sizes[fill][0] * self.scale)
        self._sizes = {
            macro: (round(w * self.scale), round(h * self.scale)) for macro, (w, h) in sizes.items()
        }
        placed = defdata.components(text)
        if not placed:
            raise DefError("no placed components")
        self.x0 = min(c.x for c in placed)
        right = max(c.x + self._sizes[c.macro][0] for c in placed)
        self.sites = -((self.x0 - right) // self.site)  # a last cell off the grid counts whole
        self.height = self._sizes[fill][1]
        self.tap_pitch = tap_pitch
        self._mirrored: dict[int, bool] = {}
        for c in placed:
            self._mirrored[c.y] = self._mirrored.get(c.y, False) or c.orient in ("S", "FS")
        self.cells = {c.name: c for c in placed if c.macro != fill}
        self._original = dict(self.cells)
        self._taps: dict[int, set[int]] = {}  # while open_tap_sites runs: sites it chose
        self._rows: dict[int, list[str]] = {y: [] for y in sorted(self._mirrored)}
        for cell in sorted(self.cells.values(), key=lambda c: c.x):
            self._rows[cell.y].append(cell.name)

    def _start(self, name: str) -> int:
        return (self.cells[name].x - self.x0) // self.site

    def _width(self, macro: str) -> int:
        return self._sizes[macro][0] // self.site

    def width_of(self, macro: str) -> int:
        """A macro's width (DEF units)."""
        return self._sizes[macro][0]

    def box(self, name: str) -> Box:
        cell = self.cells[name]
        width, height = self._sizes[cell.macro]
        return Box(cell.x, cell.y, cell.x + width, cell.y + height)

    def remove(self, name: str) -> Component:
        """Take a cell out of its row; its sites become free."""
        cell = self.cells.pop(name)
        self._rows[cell.y].remove(name)
        return cell

    def apply(self, name: str, macro: str, move: Move, flipped: bool = False) -> None:
        """Put a cell (new, or taken out with :meth:`remove`) where ``move`` says, oriented as
        its row (mirrored in x when ``flipped``), and push its neighbours."""
        self._shift(move.pushed)
        mirrored = self._mirrored[move.y]
        orient = ("FS" if flipped else "S") if mirrored else ("FN" if flipped else "N")
        self.cells[name] = Component(name, macro, move.x, move.y, orient)
        row = self._rows[move.y]
        row.insert(bisect.bisect([self._start(n) for n in row], self._start(name)), name)

    def relocation(self, name: str, keepouts: Sequence[Box], clearance: float) -> Move | None:
        """The cheapest move of a placed cell to a spot at least ``clearance`` (DEF units) from
        every keep-out box; None when there is none."""
        cell = self.remove(name)
        try:
            return self.insertion(cell.macro, cell.x, cell.y, keepouts, clearance)
        finally:
            self.apply(name, cell.macro, Move(0, cell.x, cell.y), cell.orient.startswith("F"))

    def move(self, name: str, move: Move) -> None:
        cell = self.remove(name)
        self.apply(name, cell.macro, move, cell.orient.startswith("F"))

    def insertion(
        self, macro: str, x: int, y: int, keepouts: Sequence[Box] = (), clearance: float = 0.0
    ) -> Move | None:
        """The cheapest spot for a new ``macro`` cell near (x, y) whose box keeps ``clearance``
        (DEF units) from every keep-out box; None when no row has one."""
        width = self._width(macro)
        target = round((x - self.x0) / self.site)
        best: Move | None = None
        for row_y in sorted(self._rows, key=lambda r: abs(r - y)):
            dy = abs(row_y - y)
            if best is not None and dy >= best.cost:
                break
            row = self._layout(row_y)
            for first, last in self._allowed(row_y, width, keepouts, clearance):
                centre = min(max(target, first), last)
                reach = 2 * width  # pushes cost more than moving this far
                for site in range(max(first, centre - reach), min(last, centre + reach) + 1):
                    found = self._push(row, site, width, row_y=row_y)
                    if found is None:
                        continue
                    shift, pushed = found
                    cost = (abs(site - target) + shift) * self.site + dy
                    if best is None or cost < best.cost:
                        best = Move(cost, self.x0 + site * self.site, row_y, pushed)
        return best

    def open_tap_sites(self) -> int:
        """Free a site where a well tap would find none (graywolf can pack the first 6.5 um
        of a row), pushing the cells along the row, as ``defdata.insert_taps`` chooses the
        taps' sites; how many sites were pushed free. The rows' runs then keep their limits,
        which every later move keeps. Where a row cannot make room (packed to its end), the
        window is left to ``insert_taps``, which fails there if it still finds no fill."""
        if self.tap_pitch is None:
            return 0
        pitch = self.tap_pitch
        opened = 0
        for row_y in self._rows:
            used = self._occupancy(row_y)
            covered = 0  # DEF units from the row's start, as insert_taps counts them
            while covered < self.sites * self.site:
                low = max(0, math.floor((covered - pitch / 2) / self.site - 0.5) + 1)
                high = min(self.sites - 1, math.floor((covered + pitch / 2) / self.site - 0.5))
                free = [k for k in range(low, high + 1) if not used[k]]
                if not free:
                    site = self._open(row_y, high, low)
                    if site is None:  # left to the moves that follow, and to insert_taps
                        covered = round((high + 0.5) * self.site + pitch / 2)
                        continue
                    free = [site]
                    used = self._occupancy(row_y)
                    opened += 1
                self._taps.setdefault(row_y, set()).add(free[-1])
                covered = round((free[-1] + 0.5) * self.site + pitch / 2)
        self._taps.clear()
        return opened

    def _open(self, row_y: int, high: int, low: int) -> int | None:
        """Push the cells of a row apart to free one site, the rightmost between ``low`` and
        ``high`` that can be freed; None where none can (kept sites and the row's ends)."""
        for site in range(high, low - 1, -1):
            found = self._push(self._layout(row_y), site, 1, row_y, runs=False)
            if found is not None:
                self._shift(found[1])
                return site
        return None

    def _shift(self, pushed: tuple[tuple[str, int], ...]) -> None:
        for other, x in pushed:
            self.cells[other] = replace(self.cells[other], x=x)

    def _occupancy(self, row_y: int) -> bytearray:
        used = bytearray(self.sites)
        for name in self._rows[row_y]:
            first, width = self._start(name), self._width(self.cells[name].macro)
            used[first : first + width] = b"\x01" * width
        return used

    def _layout(self, row_y: int) -> tuple[list[str], list[int], list[int]]:
        """A row's cells from left to right, their first sites and their widths (sites)."""
        names = self._rows[row_y]
        widths = [self._width(self.cells[n].macro) for n in names]
        return names, [self._start(n) for n in names], widths

    def _push(
        self,
        row: tuple[list[str], list[int], list[int]],
        site: int,
        width: int,
        row_y: int | None = None,
        runs: bool = True,
    ) -> tuple[int, tuple[tuple[str, int], ...]] | None:
        """Room for a cell ``width`` sites wide at ``site``: the neighbours it pushes (name,
        new x) and their total shift (sites); None when the row cannot make room, the run of
        abutting cells it joins would leave a well tap no room (with ``runs``) or a cell would
        cover a site ``open_tap_sites`` chose in row ``row_y``."""
        names, starts, widths = row
        if site < 0 or site + width > self.sites:
            return None
        # the cells centred left of the new cell's centre stay on its left
        split = bisect.bisect([2 * s + w for s, w in zip(starts, widths, strict=True)],
                              2 * site + width)  # fmt: skip
        new = list(starts)
        low = site
        for i in range(split - 1, -1, -1):
            if starts[i] + widths[i] < low:
                break
            new[i] = min(starts[i], low - widths[i])
            low = new[i]
        high = site + width
        for i in range(split, len(names)):
            if starts[i] > high:
                break
            new[i] = max(starts[i], high)
            high = new[i] + widths[i]
        if low < 0 or high > self.sites or (runs and not self._run_fits(low, high)):
            return None
        moved = [i for i, s in enumerate(new) if s != starts[i]]
        taps = self._taps.get(row_y, set()) if row_y is not None else set()
        spans = [(site, width), *((new[i], widths[i]) for i in moved)]
        if any(first <= k < first + w for first, w in spans for k in taps):
            return None
        return (
            sum(abs(new[i] - starts[i]) for i in moved),
            tuple((names[i], self.x0 + new[i] * self.site) for i in moved),
        )

    def _run_fits(self, low: int, high: int) -> bool:
        """Whether a run of abutting cells over sites [low, high) leaves the well taps room:
        a free site at most a pitch after the one before it, and within half a pitch of the
        row's start and end (``defdata.insert_taps`` measures to the tap's centre)."""
        if self.tap_pitch is None:
            return True
        half, site, length = self.tap_pitch // 2, self.site, high - low
        if low == 0 and length * site + site // 2 > half:
            return False
        if high == self.sites and (length + 1) * site - site // 2 > half:
            return False
        return (length + 1) * site <= 2 * half

    def _allowed(
        self, row_y: int, width: int, keepouts: Sequence[Box], clearance: float
    ) -> list[tuple[int, int]]:
        """Ranges (first, last) of the sites where a cell ``width`` sites wide may start in
        the row, away from the keep-out boxes."""
        ranges = [(0, self.sites - width)]
        for blocked in (self._blocked(row_y, width, box, clearance) for box in keepouts):
            if blocked is None:
                continue
            low, high = blocked
            ranges = [
                part
                for first, last in ranges
                for part in ((first, min(last, low - 1)), (max(first, high + 1), last))
                if part[0] <= part[1]
            ]
        return ranges

    def _blocked(
        self, row_y: int, width: int, box: Box, clearance: float
    ) -> tuple[int, int] | None:
        """The start sites in row ``row_y`` that would bring a cell closer than ``clearance``
        to ``box``."""
        gap_y = max(0, box.y0 - (row_y + self.height), row_y - box.y1)
        if gap_y >= clearance:
            return None
        gap_x = math.sqrt(clearance**2 - gap_y**2)
        low = box.x0 - width * self.site - gap_x  # a start x strictly between these is too close
        high = box.x1 + gap_x
        return (
            math.floor((low - self.x0) / self.site) + 1,
            math.ceil((high - self.x0) / self.site) - 1,
        )

    def amend(self, text: str) -> str:
        """The DEF with the cells where they are now: moved and new cells, fill cells on every
        free site and only there."""
        used = {y: self._occupancy(y) for y in self._rows}
        free = {y: set(_free_sites(row)) for y, row in used.items()}
        kept: list[str] = []
        start = text.find("\nCOMPONENTS")
        end = text.find("\nEND COMPONENTS")
        for line in text[start:end].split("\n"):
            c = defdata.component_line(line)
            if c is None:
                continue
            if c.macro != self.fill:
                if c.name in self.cells:
                    kept.append(line if c == self.cells[c.name] else _line(self.cells[c.name]))
                continue
            site, off_grid = divmod(c.x - self.x0, self.site)
            if not off_grid and site in free[c.y]:
                free[c.y].discard(site)
                kept.append(line)
        kept += [_line(c) for name, c in self.cells.items() if name not in self._original]
        kept += [
            _line(Component(f"econflow_fill_{y}_{site}", self.fill,
                            self.x0 + site * self.site, y, "S" if self._mirrored[y] else "N"))
            for y, sites in free.items()
            for site in sorted(sites)
        ]  # fmt: skip
        body = "\n".join([f"COMPONENTS {len(kept)} ;", *kept])
        return f"{text[: start + 1]}{body}{text[end:]}"


def _line(c: Component) -> str:
    return f"- {c.name} {c.macro} + PLACED ( {c.x} {c.y} ) {c.orient} ;"


def _free_sites(row: bytearray) -> Iterator[int]:
    for run in _FREE.finditer(bytes(row)):
        yield from range(run.start(), run.end())
