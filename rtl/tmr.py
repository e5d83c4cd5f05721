"""TMR as a transformation of the structural description: which registers are triplicated."""

from __future__ import annotations

from dataclasses import replace

from econflow.rtl.structure import Encoder, RegisterKind

PROTECTED_KINDS: dict[str, tuple[RegisterKind, ...]] = {
    "none": (),
    "config": ("config",),
    "full": ("config", "pipeline", "status"),
}


def protect(encoder: Encoder) -> Encoder:
    """Mark the registers the encoder's TMR scope covers as protected."""
    kinds = PROTECTED_KINDS[encoder.tmr]
    registers = tuple(replace(r, protected=r.kind in kinds) for r in encoder.registers)
    return replace(encoder, registers=registers)
