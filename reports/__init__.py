"""Reports stage: PPA and compression-quality reports (not built yet)."""
