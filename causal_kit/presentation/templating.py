"""The one jinja2 environment that lays out the report's HTML blocks.

Templates live in ``templates/`` beside this module (``*.html.j2``) and ship with the package.
Every value a template shows is escaped (autoescape); an HTML fragment built elsewhere — an inline
chart, a pandas table, an ``Impact`` summary — is passed as :class:`markupsafe.Markup` so it is
kept as it is. Undefined names raise instead of rendering as empty text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"

ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

__all__ = ["ENV", "TEMPLATES", "Markup", "render"]


def render(name: str, /, **context: Any) -> str:
    """Return the template ``name`` (under ``templates/``) rendered with ``context``.

    Parameters
    ----------
    name
        File name of the template, e.g. ``"executive_summary.html.j2"``.
    **context
        The values it lays out. Plain strings are escaped; pass HTML fragments as
        :class:`markupsafe.Markup`.

    Returns
    -------
    str
        The HTML fragment, without a trailing newline.
    """
    return ENV.get_template(name).render(**context)
