"""The report's blocks rendered from templates: each string escaped exactly once, HTML fragments
(charts, tables, the impact summary) kept as HTML, and every block's id and heading in place."""

from __future__ import annotations

from dataclasses import replace
from html.parser import HTMLParser

import jinja2
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.presentation import views
from causal_kit.presentation.history_view import over_time
from causal_kit.presentation.table import Table
from causal_kit.presentation.templating import TEMPLATES, Markup, render

HOSTILE = "<script>alert('x')</script> & \"co\""


class Parsed(HTMLParser):
    """The tags of a fragment, the text inside each heading, and all text, entities decoded."""

    def __init__(self, fragment: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[tuple[str, str]] = []
        self.text = ""
        self._open: str | None = None
        self.feed(fragment)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("h1", "h3", "h4"):
            self._open, self._heading = tag, ""

    def handle_endtag(self, tag):
        if tag == self._open:
            self.headings.append((tag, " ".join(self._heading.split())))
            self._open = None

    def handle_data(self, data):
        self.text += data
        if self._open:
            self._heading += data


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    sim = ck.simulate("staggered", n_users=1500, n_days=100, seed=3,
                      out_dir=tmp_path_factory.mktemp("staggered"))  # fmt: skip
    return ck.analyze_launch(sim.events, launch=sim.launch, users=sim.users, yearly_cost=1000.0)


@pytest.fixture(scope="module")
def hostile(analysis):
    """The same analysis under a launch name that is HTML, quotes and an ampersand."""
    return replace(analysis, launch=replace(analysis.launch, name=HOSTILE))


def test_a_launch_name_with_a_script_is_escaped_exactly_once_in_the_executive_summary(hostile):
    block = views.executive_summary(hostile)
    html = block.html
    assert "<script" not in html and "&lt;script&gt;alert(" in html
    assert "&amp;lt;" not in html and "&amp;amp;" not in html  # not escaped twice
    page = Parsed(html)
    # decoding the entities once gives the name back as it was written
    assert ("h1", f"{HOSTILE}: launch impact") in page.headings
    assert page.text.count(HOSTILE) == 2  # the heading and the effect sentence
    assert HOSTILE in block.text  # the plain-text side is not HTML at all
    assert ("section", {"class": "ck-exec", "id": "executive-summary"}) in page.tags
    # the chart is an image, not escaped markup
    assert [t for t, _ in page.tags].count("img") == 1 and "&lt;img" not in html


def test_every_text_a_block_shows_is_decoded_back_to_what_python_chose(hostile):
    page = Parsed(views.executive_summary(hostile).html)
    for sentence in views.executive_sentences(hostile):
        assert sentence in page.text, sentence
    assert views.effect_words(hostile) in page.text


BLOCKS = {
    "plan_view": ("h3", "Launch plan"),
    "effect_over_time": ("h3", "Effect over time since launch"),
    "measurement_window": ("h3", "Measurement window"),
    "cascade_view": ("h3", "Metric cascade: "),
    "segments_view": ("h3", "Effect by segment"),
    "scorecard_view": ("h3", "Confidence: "),
    "triangulation_view": ("h3", "Designs compared: "),
    "decision_view": ("h4", "Impact of the launch on "),
    "specification_view": ("h3", "Specification"),
}


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_every_block_still_renders_its_heading_and_its_html_fragments(hostile, name):
    block = getattr(views, name)(hostile)
    page = Parsed(block.html)
    level, heading = BLOCKS[name]
    assert any(tag == level and text.startswith(heading) for tag, text in page.headings), (
        page.headings
    )
    assert block.text and "&lt;table" not in block.html and "&lt;img" not in block.html
    tags = [t for t, _ in page.tags]
    if name == "effect_over_time":
        assert tags.count("img") == 1
    else:
        assert tags.count("table") >= 1


def test_headings_carry_the_words_python_chose(analysis):
    cascade = Parsed(views.cascade_view(analysis).html)
    verdict = cascade.headings[0][1].removeprefix("Metric cascade: ")
    assert verdict in ("the cascade breaks", "the chain holds, with a trade-off",
                       "every link holds")  # fmt: skip
    assert (verdict == "the cascade breaks") == (not analysis.cascade.holds)
    grade = Parsed(views.scorecard_view(analysis).html).headings[0][1]
    assert grade == f"Confidence: {analysis.scorecard.grade}"
    items = [t for t, _ in Parsed(views.scorecard_view(analysis).html).tags].count("li")
    assert items == max(len(analysis.scorecard.reasons), 1)


def test_blocks_without_segments_plan_or_history_say_so(analysis, tmp_path):
    bare = replace(analysis, segments=None, plan=None, launch=replace(analysis.launch, plan=None))
    segments = Parsed(views.segments_view(bare).html)
    assert segments.headings == [("h3", "Segments")] and "No segment column" in segments.text
    plan = Parsed(views.plan_view(bare).html)
    assert plan.headings == [("h3", "Launch plan")] and "No layers." in plan.text
    assert ("p", {"class": "ck-fail"}) in plan.tags
    first = over_time(analysis, output_dir=tmp_path / ".r.staging" / "x", run_date="2026-07-01")
    page = Parsed(first.html)
    assert page.headings == [("h3", "Over time")] and "img" not in [t for t, _ in page.tags]
    assert "first published run" in page.text


def test_a_design_warning_is_shown_once_escaped(analysis):
    warning = "only 3 <units> & 'few' periods"
    warned = replace(analysis, primary=replace(analysis.primary,
                                               details={**analysis.primary.details,
                                                        "warning": warning}))  # fmt: skip
    html = views.executive_summary(warned).html
    page = Parsed(html)
    assert f"Caution: {warning}" in page.text and "<units>" not in html
    assert ("p", {"class": "ck-warning"}) in page.tags


def test_provenance_shows_each_value_as_written():
    name = '<b>it\'s "v2" & more'  # no slash: parameters that look like paths are shortened
    block = views.provenance_view(
        "sha256:<ab>&cd",
        {"<pkg>": "1 & 2"},
        {"launch_name": name, "n": 3},
        ["rows with 'day' < start"],
    )
    page = Parsed(block.html)
    assert page.headings == [("h3", "Data provenance")]
    assert "sha256:<ab>&cd" in page.text and repr(name) in page.text
    assert "<pkg>" in page.text and "1 & 2" in page.text and "rows with 'day' < start" in page.text
    assert "<b>" not in block.html and "&amp;lt;" not in block.html
    assert block.text == "sha256:<ab>&cd"


def test_ck_table_cells_are_escaped_once():
    cells = pd.DataFrame({"<b>": ["x & y", "'q'"]}, index=["<i>row</i>", "p-value"])
    html = Table(cells=cells, values=pd.DataFrame(), notes=("note <1>",)).to_html()
    page = Parsed(html)
    assert "<b>" not in html and "<i>" not in html and "&amp;amp;" not in html
    for text in ("<b>", "x & y", "'q'", "<i>row</i>", "note <1>"):
        assert text in page.text, text
    assert [t for t, _ in page.tags].count("tr") == len(cells) + 1
    assert ("table", {"class": "ck-table"}) in page.tags


def test_the_environment_escapes_text_keeps_markup_and_refuses_missing_values():
    html = render("over_time.html.j2", lead="<b>", chart=Markup("<img alt='c'>"),
                  table=Markup("<table></table>"))  # fmt: skip
    assert "<p>&lt;b&gt;</p>" in html and "<img alt='c'>" in html and "<table></table>" in html
    with pytest.raises(jinja2.UndefinedError, match="table"):
        render("over_time.html.j2", lead="x", chart=None)


def test_every_template_ships_with_the_package():
    # pyproject's package data takes presentation/templates/* (files, not folders)
    names = [p.name for p in TEMPLATES.iterdir()]
    assert all((TEMPLATES / n).is_file() for n in names)
    for name in ("executive_summary", "plan", "cascade", "over_time", "ck_table", "_macros"):
        assert f"{name}.html.j2" in names, name


def test_evidence_sections_escape_their_words_once_and_keep_result_tables() -> None:
    from causal_kit.presentation import views_evidence as ve

    block = ve._section("Who <gains>", [
        {"kind": "note", "text": "skipped: a <b> & c"},
        {"kind": "broken", "links": "task_successes_30d → <retained>"},
        ve._html("<table><tr><td>x</td></tr></table>"),
    ])
    assert "<h3>Who &lt;gains&gt;</h3>" in block.html
    assert "<p><em>skipped: a &lt;b&gt; &amp; c</em></p>" in block.html
    assert "Broken link(s): task_successes_30d → &lt;retained&gt;" in block.html
    assert "<table><tr><td>x</td></tr></table>" in block.html  # a fragment, not escaped
    assert "&amp;lt;" not in block.html
