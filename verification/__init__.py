"""Verification stage: the RTL against the fixed-point model, bit for bit, and single-event
upsets injected to show that TMR masks them.

Public interface:

- ``bulk.run``: a regression checked inside Icarus or Verilator (also on a gate-level
  netlist with cell models), returning ``results.BulkCounts``.
- ``cocotb_run.run``: the cocotb tests of ``tb_encoder`` (stream, reload, reset, SEU),
  selected through cocotb's runner.
- ``pipeline.load_subject`` / ``pipeline.regression_vectors``: what a simulation checks
  against; ``pipeline.STEPS``: the flow step ``verify``; ``results.VerifyMetrics``.
"""
