"""The report page: an executed notebook's outputs and markdown, code and removed cells left out."""

from __future__ import annotations

import json
from pathlib import Path

from causal_kit.presentation.html import notebook_to_html


def _notebook(tmp_path: Path) -> Path:
    cells = [
        {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]},
         "source": "launch_name = 'x'", "outputs": [], "execution_count": 1},
        {"cell_type": "code", "id": "secret", "metadata": {"tags": ["remove"]},
         "source": "token = 'do-not-show'",
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "do-not-show\n"}],
         "execution_count": 2},
        {"cell_type": "markdown", "id": "m", "metadata": {},
         "source": ["<a id=\"engineering-appendix\"></a>\n", "\n", "## Engineering appendix\n",
                    "\n", "The **rule** & its inputs.\n"]},
        {"cell_type": "code", "id": "h", "metadata": {}, "source": "views.block()",
         "execution_count": 3, "outputs": [
             {"output_type": "execute_result", "execution_count": 3, "metadata": {},
              "data": {"text/html": ["<section id=\"executive-summary\">",
                                     "<h1>a &amp; b</h1></section>"],
                       "text/plain": ["<Block>"]}},
             {"output_type": "display_data", "metadata": {},
              "data": {"image/png": "iVBORw0KGgo=\n", "text/plain": ["<Figure>"]}},
             {"output_type": "stream", "name": "stderr", "text": "a <warning>\n"}]},
        {"cell_type": "code", "id": "quiet", "metadata": {}, "source": "x = 1",
         "outputs": [], "execution_count": 4},
    ]
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "report.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_the_page_keeps_outputs_and_markdown_and_drops_code_and_removed_cells(
        tmp_path: Path) -> None:
    page = notebook_to_html(_notebook(tmp_path), "launch <x> — report")
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert "<title>launch &lt;x&gt; — report</title>" in page
    assert "do-not-show" not in page and "launch_name" not in page  # removed, parameters
    assert "views.block()" not in page and "x = 1" not in page  # code is never shown
    assert '<section id="executive-summary"><h1>a &amp; b</h1></section>' in page  # kept as is
    assert '<img src="data:image/png;base64,iVBORw0KGgo=">' in page
    assert "<pre>a &lt;warning&gt;\n</pre>" in page  # stream text escaped
    assert "&lt;Block&gt;" not in page  # text/plain only when nothing richer
    # markdown: raw anchors kept, headings get an id and a link, emphasis rendered
    assert '<a id="engineering-appendix"></a>' in page
    assert ('<h2 id="Engineering-appendix">Engineering appendix<a class="anchor-link" '
            'href="#Engineering-appendix">¶</a></h2>') in page
    assert "<strong>rule</strong> &amp; its inputs" in page
    assert 'id="cell-id=quiet"' not in page  # a cell without output leaves no box
    assert "<style>" in page and "http" not in page.split("<style>")[0]


def test_the_report_page_loads_no_notebook_converter() -> None:
    import subprocess
    import sys

    code = ("import sys; import causal_kit.presentation.html; "
            "print('nbconvert' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
