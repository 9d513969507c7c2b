"""Sphinx configuration of warpkit's documentation.

Build (strict: warnings are errors, every cross-reference is checked)::

    python -m sphinx -W -n --keep-going -b html docs docs/_build/html

Quick build without running the gallery scripts (what the test suite does)::

    python -m sphinx -W -n --keep-going -b html -D plot_gallery=0 docs /tmp/html

The build needs no network: see ``docs/building.rst``.
"""

import importlib.util
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))  # document the checkout these docs belong to

import warpkit  # noqa: E402
import warpkit_docs  # noqa: E402

# Matplotlib must never open a window, and its cache must be writable.
os.environ.setdefault("MPLBACKEND", "Agg")

# -- Project -----------------------------------------------------------------------------

project = "warpkit"
author = "The warpkit developers"
copyright = "The warpkit developers"
release = warpkit.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
    "warpkit_docs",
]
# Markdown, for the benchmark report that the benchmark suite writes.
HAVE_MYST = importlib.util.find_spec("myst_parser") is not None
if HAVE_MYST:
    extensions.append("myst_parser")
    myst_heading_anchors = 3

templates_path = ["_templates"]
exclude_patterns = [
    "_build", "_ext", "_inventories", "_templates", "_generated/benchmarks/*.csv",
    "**/sg_execution_times.rst", "Thumbs.db", ".DS_Store", "README.md",
]
root_doc = "index"
default_role = "py:obj"
nitpicky = True

# autograd has no Sphinx inventory; private modules (``warpkit._validate``,
# ``warpkit.kernels._math``) are mentioned in prose but not documented.
nitpick_ignore_regex = [
    (r"py:.*", r"autograd(\..*)?"),
    (r"py:.*", r"warpkit\.(.*\.)?_[a-z]\w*(\..*)?"),
    (r"py:.*", r"warpkit\.kernels(\..*)?"),
    # Dask, Zarr and dask.distributed have no local inventory.
    (r"py:.*", r"(dask|zarr|distributed)(\..*)?"),
]

# -- Benchmark report --------------------------------------------------------------------------

warpkit_docs.prepare_benchmark_report(ROOT, DOCS, HAVE_MYST)

# -- API reference -------------------------------------------------------------------------

warpkit_docs.write_api_index(DOCS / "api" / "index.rst")

autosummary_generate = True
autosummary_ignore_module_all = False
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"  # link only the aliases below and the defaults of numpydoc
numpydoc_xref_aliases = {
    "ndarray": "numpy.ndarray",
    "dtype": "numpy.dtype",
    "float32": "numpy.float32",
    "float64": "numpy.float64",
    "Generator": "numpy.random.Generator",
    "numpy.random.Generator": "numpy.random.Generator",
    "os.PathLike": "os.PathLike",
    "path-like": ":term:`python:path-like object`",
}

# -- Cross-project links, offline ------------------------------------------------------------

intersphinx_mapping = warpkit_docs.intersphinx_mapping(
    DOCS / "_inventories", DOCS / "_build" / "inventories")

# -- Gallery -------------------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "doc_module": ("warpkit",),
    "backreferences_dir": "api/generated/backreferences",
    "reference_url": {"warpkit": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "min_reported_time": 1e9,
    "show_memory": False,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
}

# -- Figures drawn at build time (.. plot::) -------------------------------------------------

plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams = {"figure.autolayout": False, "savefig.bbox": "tight"}
plot_pre_code = "import numpy as np\nimport matplotlib.pyplot as plt\nimport warpkit\n"
plot_working_directory = str(DOCS / "pyplots")

# -- HTML ------------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"warpkit {release}"
html_static_path = ["_static"]
html_css_files = ["warpkit.css"]
html_show_sourcelink = False
html_theme_options = {
    "sidebar_hide_name": False,
    "navigation_with_keys": True,
}

# MathJax: a local copy when the ``django-static-mathjax`` package (plain MathJax 3 files,
# no Django needed) is installed, so that pages render formulas offline; else the CDN.
_mathjax = importlib.util.find_spec("mathjax")
if _mathjax is not None and _mathjax.submodule_search_locations:
    _tex_svg = Path(list(_mathjax.submodule_search_locations)[0]) / "static/mathjax/es5/tex-svg.js"
    if _tex_svg.is_file():
        html_static_path.append(str(_tex_svg))
        mathjax_path = "tex-svg.js"
