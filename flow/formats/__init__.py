"""Readers and writers of the EDA files the ASIC flow exchanges with its tools: the
synthesized netlist, liberty cells, DEF and LEF, wire loads, value-change dumps and KLayout's
report database. Each module says in its docstring why it reads the format itself."""
