"""Reports stage: the design report (HTML and Markdown, with figures) and the end-of-run
summary, built from every stage's typed results.

Public interface: ``results.load(build_dir)`` (every stage's figures), ``results.shown``
(those that hold for the design file), ``build.build``,
``summary.figures``; ``pipeline.STEPS``: the flow step ``report``.
"""
