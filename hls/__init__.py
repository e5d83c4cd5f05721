"""HLS stage: the quantized encoder as hls4ml projects (Catapult, Vitis) and their C simulation.

Public interface: ``project.build`` (write and compile one backend's project, every type
from the quantized model file), ``csim.compare`` (C simulation vs the fixed-point model) and
``pipeline.STEPS`` (the flow step ``hls``).
"""
