"""Reports stage: the design report (HTML and Markdown) built from the stages' metrics."""
