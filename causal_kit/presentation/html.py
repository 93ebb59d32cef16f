"""Turn an executed report notebook into one self-contained HTML page with the code hidden.

The page keeps each cell's outputs (HTML, inline PNG images, text) and renders its markdown;
code, prompts and cells tagged ``remove`` or ``parameters`` are left out. The layout follows the
classic notebook's ``basic`` export (``cell``, ``output_area``, ``rendered_html``...), which the
report's stylesheet styles, without loading the notebook converter.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import mistune

from causal_kit.presentation.templating import Markup, render

REMOVE_TAGS = ("remove", "parameters", "injected-parameters")

CSS = (Path(__file__).parent / "templates" / "report.css").read_text(encoding="utf-8")


class _Headings(mistune.HTMLRenderer):
    """Markdown renderer that gives headings an id and an anchor link (as the notebook does)."""

    def heading(self, text: str, level: int, **attrs: Any) -> str:
        anchor = re.sub(r"\s+", "-", re.sub(r"<[^>]*>", "", text).strip())
        anchor = html.escape(anchor, quote=True)
        return (f'<h{level} id="{anchor}">{text}<a class="anchor-link" href="#{anchor}">¶</a>'
                f"</h{level}>\n")


_MARKDOWN = mistune.create_markdown(renderer=_Headings(escape=False), plugins=["table"])


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
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    cells: list[dict[str, Any]] = []
    for cell in nb.get("cells", []):
        if set(cell.get("metadata", {}).get("tags", [])) & set(REMOVE_TAGS):
            continue
        ident = str(cell.get("id", ""))
        if cell.get("cell_type") == "markdown":
            text = _source(cell.get("source", ""))
            cells.append({"kind": "markdown", "id": ident,
                          "html": Markup(str(_MARKDOWN(text)).strip())})
        elif cell.get("cell_type") == "code":
            outputs = [o for o in (_output(x) for x in cell.get("outputs", [])) if o]
            if outputs:
                cells.append({"kind": "code", "id": ident, "outputs": outputs})
    return render("report_page.html.j2", title=title, css=Markup(CSS), cells=cells) + "\n"


def _source(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _output(out: dict[str, Any]) -> dict[str, Any] | None:
    """Return one output as ``{css, origin, html}``, or ``None`` when it shows nothing."""
    kind = out.get("output_type")
    if kind == "stream":
        text = _source(out.get("text", ""))
        return {"css": "output_text output_stream", "origin": f"output_{out.get('name')}",
                "html": Markup(f"<pre>{html.escape(text)}</pre>")}
    if kind not in ("display_data", "execute_result"):
        return None  # errors never reach a published report
    data = out.get("data", {})
    origin = "output_execute_result" if kind == "execute_result" else "output_display_data"
    if "text/html" in data:
        return {"css": "output_html rendered_html", "origin": origin,
                "html": Markup(_source(data["text/html"]))}
    if "image/png" in data:
        png = _source(data["image/png"]).replace("\n", "")
        return {"css": "output_png", "origin": origin,
                "html": Markup(f'<img src="data:image/png;base64,{png}">')}
    if "text/plain" in data:
        text = _source(data["text/plain"])
        return {"css": "output_text", "origin": origin,
                "html": Markup(f"<pre>{html.escape(text)}</pre>")}
    return None
