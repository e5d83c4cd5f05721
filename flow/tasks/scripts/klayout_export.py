"""SiliconCompiler's KLayout GDS export (``klayout_export.py``), run with every standard cell
taken from the library's GDS.

SiliconCompiler reads the DEF with macro resolution mode 0, which takes a macro's layout only
from a ``FOREIGN`` cell its LEF names; lambdapdk's sky130 LEF names none, so KLayout 0.28 wrote
the LEF abstracts (pins only) into the GDS. Mode 2 takes each macro's layout by name. Runs
inside KLayout, which defines ``SC_KLAYOUT_ROOT``, ``SC_TOOLS_ROOT`` and ``SC_ROOT``.
"""

import sys

ROOTS = {
    "SC_KLAYOUT_ROOT": SC_KLAYOUT_ROOT,  # noqa: F821 - defined by KLayout's -rd
    "SC_TOOLS_ROOT": SC_TOOLS_ROOT,  # noqa: F821
    "SC_ROOT": SC_ROOT,  # noqa: F821
}
sys.path.extend(ROOTS.values())

import klayout_export  # noqa: E402
import klayout_utils  # noqa: E402

_technology = klayout_utils.technology


def technology(design, schema):
    tech = _technology(design, schema)
    options = tech.load_layout_options
    options.lefdef_config.macro_resolution_mode = 2
    tech.load_layout_options = options
    return tech


klayout_utils.technology = technology
for name, value in ROOTS.items():
    setattr(klayout_export, name, value)
klayout_export.main()
