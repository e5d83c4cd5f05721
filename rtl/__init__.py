"""RTL stage: synthesizable Verilog of the encoder, with programmable weights held in
triplicated (TMR) registers behind majority voters.

Public interface:

- ``artefacts.load(build_dir)``: the generated design (``RtlDesign``: files, ports, registers,
  ``register_map()``, ``load_image()``), what verification and the ASIC flow read.
- ``naming``: the Verilog names of register banks and their TMR copies.
- ``pipeline.describe`` / ``pipeline.generate``: a design from a quantized model and the
  ``hardware`` section; ``pipeline.weight_image``: the words that load a model.
- ``results.RtlMetrics``: the stage's figures; ``pipeline.STEPS``: the flow step ``rtl``.
"""
