"""RTL stage: Verilog generator with TMR-protected programmable weights (not built yet)."""
