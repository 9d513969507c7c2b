"""The documentation builds strictly, its worked example holds, and its pages render.

* ``test_docs_build_strict``: a strict Sphinx build (warnings are errors,
  nitpicky references) without running the gallery scripts
  (``-D plot_gallery=0``); skipped where Sphinx is not installed.
* ``test_doc_page_examples``: the ``>>>`` blocks of
  ``docs/worked_example.rst`` and ``docs/conventions.rst``.
* ``test_screenshots``: headless Chromium opens the built home page and one API
  page and saves PNG screenshots (to ``$WARPKIT_SCREENSHOT_DIR`` or the
  build folder); skipped where Chromium is absent.
"""

import doctest
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("page", ["worked_example.rst", "conventions.rst"])
def test_doc_page_examples(page):
    result = doctest.testfile(str(DOCS / page), module_relative=False,
                              optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.fixture(scope="module")
def built_html(tmp_path_factory):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("sphinx_gallery")
    pytest.importorskip("furo")
    out = tmp_path_factory.mktemp("html")
    doctrees = tmp_path_factory.mktemp("doctrees")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
    command = [sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-q", "-b", "html",
               "-d", str(doctrees), "-D", "plot_gallery=0", str(DOCS), str(out)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, f"strict docs build failed:\n{result.stderr[-8000:]}"
    return out


class _Anchors(HTMLParser):
    """An HTML page's element ids, and the links (``href``) of its autosummary tables."""

    def __init__(self, html):
        super().__init__()
        self.summary_links, self.ids = [], set()
        self._in_summary = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "autosummary" in (attrs.get("class") or "").split():
            self._in_summary = True
        if tag == "a" and self._in_summary and attrs.get("href"):
            self.summary_links.append(attrs["href"])
        if attrs.get("id"):
            self.ids.add(attrs["id"])

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_summary = False


def linked_api_pages(html):
    """Names ``X`` of the ``generated/warpkit.X.html`` pages an API page's tables list."""
    names = set()
    for href in _Anchors(html).summary_links:
        match = re.fullmatch(r"generated/warpkit\.([\w.]+)\.html(#.*)?", href)
        if match:
            names.add(match.group(1))
    return names


def test_docs_build_strict(built_html):
    index = (built_html / "index.html").read_text(encoding="utf-8")
    assert "warpkit" in index
    api = (built_html / "api" / "index.html").read_text(encoding="utf-8")
    import warpkit
    public = [name for name in warpkit.__all__ if not name.startswith("__")]
    assert public
    missing = sorted(set(public) - linked_api_pages(api))
    assert not missing, f"the API page's tables do not list {missing}"
    for name in public:
        page = built_html / "api" / "generated" / f"warpkit.{name}.html"
        assert page.is_file(), name
        # the page documents the object itself (Sphinx anchors it by its full name)
        assert f"warpkit.{name}" in _Anchors(page.read_text(encoding="utf-8")).ids, name
    assert (built_html / "conventions.html").is_file()
    assert (built_html / "auto_examples" / "index.html").is_file()


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_chromium() is None, reason="headless Chromium is not installed")
@pytest.mark.parametrize("page", ["index.html", "conventions.html",
                                  "api/generated/warpkit.grid_sample.html"])
def test_screenshots(built_html, page):
    folder = Path(os.environ.get("WARPKIT_SCREENSHOT_DIR", built_html / "_screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / (page.replace("/", "_").replace(".html", ".png"))
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
               "--hide-scrollbars", "--window-size=1280,1600", "--virtual-time-budget=5000",
               f"--screenshot={png}", (built_html / page).as_uri()]
    subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert png.is_file() and png.stat().st_size > 10_000
    matplotlib_image = pytest.importorskip("matplotlib.image")
    pixels = matplotlib_image.imread(str(png))
    assert pixels.shape[0] > 500 and pixels.shape[1] > 500
    assert float(np.std(pixels[..., :3])) > 0.02   # not a blank page
