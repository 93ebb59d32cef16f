"""The demo report as a reader sees it: real headless Chromium, no console errors, the
executive summary above the fold, and a screenshot saved under reports/ for review."""

from __future__ import annotations

import pytest
from browser import check_page, chromium_path
from conftest import ROOT, make_demo_data

import causal_kit as ck

pytestmark = pytest.mark.slow

VIEWPORT = (1280, 800)


@pytest.mark.skipif(chromium_path() is None,
                    reason="Chromium is not installed: run `make browser` (Debian's chromium) "
                           "to enable the real-browser check of the report")
def test_report_renders_cleanly_with_the_summary_above_the_fold(tmp_path_factory):
    demo = make_demo_data(tmp_path_factory, ("staggered",))
    report = ck.run_report(parameters={"data_dir": str(demo / "staggered")},
                           output_root=tmp_path_factory.mktemp("reports"), run_date="2026-07-01")
    shot = ROOT / "reports" / "screenshots" / "demo-report.png"
    page = check_page(report.html, ".ck-exec", shot, *VIEWPORT)
    assert page.errors == []
    assert page.element_top is not None and page.element_top < 100
    headline = check_page(report.html, ".ck-headline", shot, *VIEWPORT)
    assert headline.element_top + headline.element_height < VIEWPORT[1]
    text = page.text.lower()  # the labels are upper-cased by the stylesheet
    assert "recommendation" in text and "value per year" in text
    assert shot.exists() and shot.stat().st_size > 10_000
