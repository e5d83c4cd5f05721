"""Verification stage: cocotb bit-exactness and SEU injection (not built yet)."""
