"""Names the generated Verilog gives its registers, which the testbench (to inject upsets) and
the layout checks (to find the three copies of a bit) look up.

A register bank ``<name>`` is the instance ``r_<name>`` of a register primitive, in the top
module or, for the adder-tree levels of sum ``j`` of a layer, in that sum's module instance
``u_<layer>_<j>``; the design description records each bank's path. A protected bank holds
its copies in the primitive's registers ``copy_a``, ``copy_b`` and ``copy_c``, an unprotected
one drives its value on ``q``. Synthesis keeps the hierarchy in the flip-flop names
(``u_dense_3/r_dense_t2_s14/copy_a[3]`` once flattened with ``/``).
"""

from __future__ import annotations

import re

REGISTER_PREFIX = "r_"
COPIES = ("copy_a", "copy_b", "copy_c")
VALUE = "q"  # the (voted) output of a register primitive


def instance(register: str) -> str:
    """The Verilog instance holding register bank ``register``."""
    return f"{REGISTER_PREFIX}{register}"


def sum_instance(layer: str, index: int) -> str:
    """The instance of the module computing sum ``index`` of ``layer``."""
    return f"u_{layer}_{index}"


def tree_register(layer: str, level: int, point: int) -> str:
    """The register bank cutting level ``level`` of a sum's adder tree at pipeline point
    ``point``, as its sum module names it; sum ``j``'s bank is this name with ``_<j>``."""
    return f"{layer}_t{level}_s{point}"


def copy_pattern() -> re.Pattern[str]:
    """Matches a synthesized flip-flop of a protected copy: groups ``instance`` (the register
    primitive's path, ``/`` between levels), ``copy`` and ``bit``."""
    copies = "|".join(re.escape(c) for c in COPIES)
    return re.compile(rf"^(?P<instance>.+?)[./](?P<copy>{copies})(?:\[(?P<bit>\d+)\])?\$")
