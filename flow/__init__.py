"""ASIC stage: SiliconCompiler synthesis, timing, gate-level simulation and power on an open
PDK (``pdk_configs/``), then place and route, GDS and a routing-layer DRC.

Public interface: ``pipeline.STEPS`` (``synth``, ``sta``, ``gatesim``, ``power``) and
``layout.STEPS`` (``place``, ``route``, ``gds``); ``results.FlowMetrics`` and
``results.LayoutMetrics``, the figures they write; ``pdk.open_pdk``, a design's PDK with its
library data. ``tasks/`` holds the SiliconCompiler tasks per tool, ``formats/`` the EDA file
readers.
"""
