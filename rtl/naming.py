"""Names the generated Verilog gives its registers, which the testbench (to inject upsets) and
the layout checks (to find the three copies of a bit) look up.

A register bank ``<name>`` is the instance ``r_<name>`` of a register primitive; a protected
bank holds its copies in the primitive's registers ``copy_a``, ``copy_b`` and ``copy_c``, an
unprotected one drives its value on ``q``. Synthesis keeps the hierarchy in the flip-flop
names (``r_<name>.copy_a[3]``, ``r_<name>/copy_a[3]`` after flattening).
"""

from __future__ import annotations

import re

REGISTER_PREFIX = "r_"
COPIES = ("copy_a", "copy_b", "copy_c")
VALUE = "q"  # the (voted) output of a register primitive


def instance(register: str) -> str:
    """The Verilog instance holding register bank ``register``."""
    return f"{REGISTER_PREFIX}{register}"


def copy_pattern() -> re.Pattern[str]:
    """Matches a synthesized flip-flop of a protected copy: groups ``reg``, ``copy``, ``bit``."""
    copies = "|".join(re.escape(c) for c in COPIES)
    return re.compile(
        rf"^{re.escape(REGISTER_PREFIX)}(?P<reg>.+?)[./](?P<copy>{copies})(?:\[(?P<bit>\d+)\])?\$"
    )
