"""Magic's DRC of the routed layout: a second opinion beside the routing-layer deck.

Magic (Debian package) loads the PDK's own technology file, the runset lambdapdk names for
Magic, and checks its full rule deck, devices and wells included, where the KLayout deck
checks the routing layers only. Debian's Magic (8.3.105) is older than the ``requires`` line
of sky130's file asks; that line is left out of the copy Magic reads. Magic reports error
boxes, not violations: the figures are boxes by rule in the design's own cell, and apart
the errors it finds inside library cells and vias checked each alone (out of context, not
errors of the design).
"""

from __future__ import annotations

import gzip
import re
import time
from pathlib import Path

from econflow import __version__, tools
from econflow.flow.results import MagicDrc
from econflow.templating import environment

_REQUIRES = re.compile(r"^\s*requires\s.*\n", re.MULTILINE)
_RULE = re.compile(r"^ECONFLOW RULE (\d+) :: (.*)$", re.MULTILINE)
_CELLS = re.compile(r"^ECONFLOW CELLS (.*)$", re.MULTILINE)
_CELL_COUNT = re.compile(r"\{(\S+) (\d+)\}")


def check(gds: Path, top: str, tech: Path, folder: Path) -> MagicDrc:
    """Magic's DRC of ``top`` in ``gds`` (gzipped or not) with the technology file ``tech``;
    its files go to ``folder``.

    Raises:
        ToolMissingError: Magic is not installed.
        ToolFailedError: Magic failed (the message names its log).
    """
    magic = tools.find("magic", "Magic's DRC beside the routing-layer deck (gds)")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / tech.name).write_text(_REQUIRES.sub("", tech.read_text()))
    layout = folder / f"{top}.gds"
    data = gds.read_bytes()
    layout.write_bytes(gzip.decompress(data) if gds.suffix == ".gz" else data)
    script = folder / "drc.tcl"
    script.write_text(
        environment("econflow.flow")
        .get_template("magic_drc.tcl.j2")
        .render(version=__version__, top=top, gds=layout.name)
    )
    start = time.perf_counter()
    out = tools.run(
        [magic, "-dnull", "-noconsole", "-T", f"./{tech.name}", script.name],
        folder / "magic.log",
        "magic",
        cwd=folder,
    )
    by_rule = {m.group(2).strip(): int(m.group(1)) for m in _RULE.finditer(out)}
    cells = _CELLS.search(out)
    counts = _CELL_COUNT.findall(cells.group(1) if cells else "")
    alone = sum(int(n) for cell, n in counts if cell != top)
    return MagicDrc(
        errors=sum(by_rule.values()),
        by_rule=by_rule,
        errors_in_cells_alone=alone,
        tech=str(tech),
        seconds=round(time.perf_counter() - start, 1),
    )
