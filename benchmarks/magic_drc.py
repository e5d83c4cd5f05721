"""Magic's DRC of a routed layout, as a second opinion beside the flow's KLayout deck.

Magic (Debian package) loads the PDK's own technology file (lambdapdk's ``sky130A.tech``, with
its ``requires`` line taken out: it asks for a newer Magic than Debian's 8.3.105) and checks
the full rule deck, devices and wells included. Magic counts error boxes, not violations, so
its counts by rule are compared with the deck's by which rules fire, not by size.

Run: ./bootstrap.sh python benchmarks/magic_drc.py BUILD [--output NAME]
     (BUILD: a build folder after the gds step, for example /tmp/nano)
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from _common import write

TECH = Path("sky130/base/setup/magic/sky130A.tech")
SCRIPT = """gds read {gds}
load {top}
select top cell
drc euclidean on
drc style drc(full)
drc check
drc catchup
puts "DRCCOUNT [drc listall count total]"
foreach {{msg boxes}} [drc listall why] {{ puts "RULE [llength $boxes] :: $msg" }}
quit -noprompt
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path)
    parser.add_argument("--output", default="magic_drc")
    args = parser.parse_args()
    metrics = json.loads((args.build / "layout" / "metrics.json").read_text())
    gds = Path(metrics["gds"]["gds"])
    top = gds.name.removesuffix(".gds.gz")
    data = Path(os.environ["ECONFLOW_LAMBDAPDK"])
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        tech = (data / TECH).read_text()
        (work / "sky130A.tech").write_text(re.sub(r"^\s*requires .*\n", "", tech, flags=re.M))
        (work / f"{top}.gds").write_bytes(gzip.decompress(gds.read_bytes()))
        (work / "drc.tcl").write_text(SCRIPT.format(gds=f"{top}.gds", top=top))
        start = time.perf_counter()
        out = subprocess.run(
            ["magic", "-dnull", "-noconsole", "-T", "./sky130A.tech", "drc.tcl"],
            cwd=work, capture_output=True, text=True, check=True, timeout=3600,
        ).stdout  # fmt: skip
        seconds = time.perf_counter() - start
    rules = {m.group(2): int(m.group(1)) for m in re.finditer(r"^RULE (\d+) :: (.*)$", out, re.M)}
    total = re.search(r"^DRCCOUNT (\d+)", out, re.M)
    figures = {
        "gds": str(gds),
        "magic_error_count": int(total.group(1)) if total else None,
        "magic_boxes_by_rule": rules,
        "klayout_deck_by_rule": {k: v for k, v in metrics["gds"]["drc"]["by_rule"].items() if v},
        "magic_seconds": round(seconds, 1),
    }
    print(json.dumps(figures, indent=2))
    write(args.output, figures)


if __name__ == "__main__":
    main()
