"""Turn an executed report notebook into one self-contained HTML page with the code hidden."""

from __future__ import annotations

import html
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

REMOVE_TAGS = ("remove", "parameters", "injected-parameters")

CSS = (Path(__file__).parent / "templates" / "report.css").read_text(encoding="utf-8")


def notebook_to_html(notebook: Path, title: str) -> str:
    """Render an executed notebook as a self-contained page: outputs only, code hidden.

    Cells tagged ``remove`` (and the parameters cells) are dropped entirely; images are inlined;
    no script or stylesheet is fetched from elsewhere.

    Parameters
    ----------
    notebook
        The executed ``.ipynb``.
    title
        Page title (escaped).
    """
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [c for c in nb.cells
                if not set(c.get("metadata", {}).get("tags", [])) & set(REMOVE_TAGS)]
    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f'<body><main>{body}</main></body></html>\n'
    )
