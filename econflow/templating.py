"""The Jinja2 environment every generated text file (HDL, register maps, reports) comes from."""

from __future__ import annotations

import jinja2


def environment(package: str) -> jinja2.Environment:
    """Templates from ``package``'s ``templates`` folder; an undefined name is an error."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
