"""Design-space sweeps (``sc sweep``): a sweep file's variants run as separate flow runs,
those sharing a model configuration training once, and their figures in one table and report."""
