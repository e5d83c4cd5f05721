"""Congestion feedback from the router into placement.

graywolf places for wire length and knows nothing of routing demand: on a design of 9,000
cells at an even 40% cell density, the logic with the most nets per area still leaves the
router without tracks. qflow's answer is a round trip: qrouter's ``congested`` command rates
every instance by the routing demand over it (a ``.cinfo`` file), and ``decongest.tcl``
widens the most congested instances in graywolf's ``.cel`` with fill so that the next
placement spreads them. The second half is written here because qflow's script cannot do it
on this flow's ``.cel``: in its ``.cinfo`` mode it reads a fill total that only its density
mode sets (a Tcl error), and it looks the instances up by their bare names while the
``.cel`` holds them already padded by the density mode (``<fill>.<width>X<n>.<instance>``).
The widened cells keep that annotation, which ``place2def.tcl`` splits back into the cell and
its fill.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from econflow.errors import ArtefactError
from econflow.pdk import CongestionFeedback

_FAILURES = re.compile(r"^Failures: (\d+) (\d+)$", re.MULTILINE)
_CELL = re.compile(r"^cell (\d+) (\S+)$")
_PADDED = re.compile(r"^(?:[^ .]+\.[0-9X]+\.)+(?P<name>[^ .]+)$")  # fill annotations, then the name
_SIZE = re.compile(r"^left (-?\d+) right (-?\d+) (.*)$")


@dataclass(frozen=True)
class Congestion:
    """What qrouter's first routing stage left: its failed nets of all nets, and each
    instance's congestion (0: no routing over it; 1: every track taken)."""

    failed_nets: int
    nets: int
    instances: dict[str, float]


@dataclass(frozen=True)
class Widening:
    """The cells the feedback widened and the fill cells it added to them."""

    cells: int
    fill_cells: int


def read(text: str, source: str) -> Congestion:
    """The ``.cinfo`` file qrouter's ``write_congested`` writes.

    Raises:
        ArtefactError: ``source`` is not such a file.
    """
    failures = _FAILURES.search(text)
    if failures is None:
        raise ArtefactError(source, "no 'Failures: <failed> <nets>' line (not a .cinfo file)")
    instances = {}
    for line in text[failures.end() :].splitlines():
        fields = line.split()
        if len(fields) == 2:
            instances[fields[0]] = float(fields[1])
    return Congestion(int(failures.group(1)), int(failures.group(2)), instances)


def widened(
    cel: str, congestion: Congestion, feedback: CongestionFeedback, fill: str, fill_width: int
) -> tuple[str, Widening]:
    """graywolf's ``.cel`` with every cell whose congestion exceeds ``feedback.offset``
    widened by ``feedback.gain`` x (congestion - offset) of its padded width, in fill cells of
    ``fill_width`` (``.cel`` units) put in front of the fill it has."""
    lines = cel.splitlines(keepends=True)
    cells = fills = 0
    for index, line in enumerate(lines[:-1]):
        cell = _CELL.match(line.rstrip("\n"))
        size = _SIZE.match(lines[index + 1].rstrip("\n")) if cell else None
        if cell is None or size is None:
            continue
        padded = _PADDED.match(cell.group(2))
        name = padded.group("name") if padded else cell.group(2)
        width = int(size.group(2)) - int(size.group(1))
        excess = congestion.instances.get(name, 0.0) - feedback.offset
        added = round(feedback.gain * excess * width / fill_width) if excess > 0 else 0
        if added <= 0:
            continue
        lines[index] = f"cell {cell.group(1)} {fill}.{fill_width}X{added}.{cell.group(2)}\n"
        width += added * fill_width
        left = -(width // 2)
        lines[index + 1] = f"left {left} right {left + width} {size.group(3)}\n"
        cells += 1
        fills += added
    return "".join(lines), Widening(cells, fills)
