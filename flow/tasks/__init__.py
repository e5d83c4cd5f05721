"""SiliconCompiler tasks econflow adds, one module per tool as SiliconCompiler groups its own:
``opensta`` (timing and power with Debian's OpenSTA), ``graywolf`` (placement), ``qrouter``
(routing), ``qflow`` (the helpers both share) and ``klayout`` (the GDS export)."""
