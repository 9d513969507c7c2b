"""Build helpers for warpkit's documentation.

Two jobs, both run from ``conf.py`` before Sphinx reads any page:

* **Offline intersphinx.**  The docs link to NumPy, Numba and Python, but the
  build must pass without a network.  ``docs/_inventories/*.txt`` hold the
  few inventory lines the docs need, in the plain text form of Sphinx's
  ``objects.inv`` (``name domain:role priority uri display-name``); they are
  compiled here into real ``objects.inv`` files that intersphinx reads
  locally, while the links still point at the projects' web sites.
  ``WARPKIT_DOCS_INTERSPHINX=online`` fetches the full inventories first and
  falls back to the local ones.
* **The API listing.**  ``api/index.rst`` is written from ``warpkit.__all__``
  and from the public submodules, so a new public name appears in the
  reference without anyone editing the docs.
"""

import importlib
import inspect
import os
import pkgutil
import sys
import types
import zlib
from pathlib import Path

# Where each local inventory's links point.
INVENTORY_URLS = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "numba": "https://numba.readthedocs.io/en/stable/",
}

# Subpackages that are implementation detail, never documented as namespaces.
INTERNAL_PACKAGES = ("warpkit.kernels", "warpkit.backends")

# Section titles for top-level names, by the module that defines them.
SECTION_TITLES = {
    "warpkit.sampling": "Sampling",
    "warpkit.grids": "Grid generators",
    "warpkit.fused": "Fused warps",
    "warpkit.dispatch": "Fused warps",
    "warpkit.displacement": "Displacement fields",
    "warpkit.regularizers": "Displacement fields",
    "warpkit.transforms": "Transform objects",
    "warpkit.coords": "Coordinates",
}


# --------------------------------------------------------------------------- intersphinx

def compile_inventory(text_path, inv_path):
    """Write the ``objects.inv`` (version 2) described by a text inventory file.

    The text file starts with ``# Project:`` and ``# Version:`` comment lines;
    every other non-comment line is an inventory entry.
    """
    project, version, entries = "unknown", "", []
    for line in Path(text_path).read_text(encoding="utf-8").splitlines():
        if line.startswith("# Project:"):
            project = line.split(":", 1)[1].strip()
        elif line.startswith("# Version:"):
            version = line.split(":", 1)[1].strip()
        elif line.strip() and not line.startswith("#"):
            if len(line.split(" ", 4)) != 5:
                raise ValueError(f"{text_path}: bad inventory line {line!r}")
            entries.append(line)
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = zlib.compress(("\n".join(entries) + "\n").encode("utf-8"))
    data = header.encode("utf-8") + body
    inv_path = Path(inv_path)
    if not inv_path.exists() or inv_path.read_bytes() != data:
        inv_path.write_bytes(data)
    return inv_path


def intersphinx_mapping(source_dir, build_dir, mode=None):
    """The ``intersphinx_mapping`` for ``conf.py``, built from the local inventories.

    ``mode`` (default: the ``WARPKIT_DOCS_INTERSPHINX`` environment variable,
    else ``"local"``) is ``"local"`` (never touch the network) or
    ``"online"`` (fetch each project's inventory, fall back to the local one).
    """
    mode = mode or os.environ.get("WARPKIT_DOCS_INTERSPHINX", "local")
    if mode not in ("local", "online"):
        raise ValueError(f"WARPKIT_DOCS_INTERSPHINX must be 'local' or 'online', got {mode!r}")
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    mapping = {}
    for name, url in INVENTORY_URLS.items():
        local = str(compile_inventory(Path(source_dir) / f"{name}.txt",
                                      build_dir / f"{name}-objects.inv"))
        mapping[name] = (url, (None, local) if mode == "online" else local)
    return mapping


# --------------------------------------------------------------------------- API listing

def public_names(module):
    """The names a module offers: its ``__all__``, else what it defines without a ``_``."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            name for name, value in vars(module).items()
            if not name.startswith("_")
            and getattr(value, "__module__", None) == module.__name__
            and (inspect.isfunction(value) or inspect.isclass(value))
        ]
    return [name for name in names if not (name.startswith("__") and name.endswith("__"))]


def _submodules(package):
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        last = info.name.rsplit(".", 1)[1]
        if last.startswith("_") or info.name.startswith(INTERNAL_PACKAGES):
            continue
        try:
            module = importlib.import_module(info.name)
        except Exception as error:  # a broken public module must fail the docs build
            raise RuntimeError(f"cannot import public module {info.name}: {error!r}") from error
        yield module
        if info.ispkg:
            yield from _submodules(module)


def _home_module(package, name, value):
    """The submodule whose ``__all__`` offers ``value`` under ``name`` (``__module__``
    is not enough: autograd primitives report ``autograd.tracer``)."""
    home = getattr(value, "__module__", None)
    if home in SECTION_TITLES:
        return home
    prefix = package.__name__ + "."
    for module_name, module in sorted(sys.modules.items()):
        if (module_name.startswith(prefix) and module is not None
                and name in getattr(module, "__all__", ()) and getattr(module, name, None) is value):
            return module_name
    return home


def public_api(package_name="warpkit"):
    """What the API reference documents.

    Returns
    -------
    top : dict
        Section title -> top-level names of ``package.__all__`` (dunder names left out).
    modules : list of str
        Public submodules that offer at least one object no documented
        parent namespace already offers (``warpkit.coords``, ``warpkit.nn``...).
    described : list of str
        The other public submodules (``warpkit.sampling``...): documented by
        their module docstring only, since their names are documented elsewhere.
    """
    package = importlib.import_module(package_name)
    top = {}
    for name in public_names(package):
        value = getattr(package, name)
        if isinstance(value, types.ModuleType):
            continue
        title = SECTION_TITLES.get(_home_module(package, name, value))
        if title is None:
            title = "Classes" if inspect.isclass(value) else (
                "Functions" if callable(value) else "Constants")
        top.setdefault(title, []).append(name)

    offered = {id(getattr(package, name)) for name in public_names(package)}
    modules, described = [], []
    for module in _submodules(package):
        values = [getattr(module, name) for name in public_names(module)
                  if hasattr(module, name)]
        if any(id(v) not in offered and not isinstance(v, types.ModuleType) for v in values):
            modules.append(module.__name__)
        else:
            described.append(module.__name__)
        offered.update(id(v) for v in values)
    return top, modules, described


API_INTRO = """\
.. This file is written by docs/_ext/warpkit_docs.py from warpkit.__all__
   and the public submodules at every build; edit that script, not this file.

API reference
=============

Every public name of warpkit, with its parameters, shapes and a runnable
example (the examples run as doctests in the test suite).  The names below
are imported with ``import warpkit``; the submodules further down are
namespaces of their own (``from warpkit import coords``).

.. currentmodule:: warpkit
"""


def api_index_text(package_name="warpkit"):
    """The reStructuredText of ``api/index.rst``."""
    top, modules, described = public_api(package_name)
    order = list(SECTION_TITLES.values()) + ["Functions", "Classes", "Constants"]
    lines = [API_INTRO]
    for title in sorted(top, key=lambda t: order.index(t) if t in order else len(order)):
        lines += [title, "-" * len(title), "", ".. autosummary::", "   :toctree: generated",
                  "   :nosignatures:", ""]
        lines += [f"   {name}" for name in top[title]]
        lines.append("")
    if modules:
        lines += ["Submodules", "----------", "", ".. autosummary::",
                  "   :toctree: generated", ""]
        lines += [f"   {name[len(package_name) + 1:]}" for name in modules]
        lines.append("")
    if described:
        lines += ["Where the names live", "--------------------", "",
                  "The modules that define the names above; each page describes its module, "
                  "and its names are documented where they are imported from.", "",
                  ".. autosummary::", "   :toctree: generated",
                  "   :template: autosummary/module_described.rst", ""]
        lines += [f"   {name[len(package_name) + 1:]}" for name in described]
        lines.append("")
    return "\n".join(lines)


def write_api_index(path, package_name="warpkit"):
    """Write ``api/index.rst`` if its text changed (so Sphinx does not rebuild needlessly)."""
    path = Path(path)
    text = api_index_text(package_name)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- benchmark report

# Where the benchmark suite may have written its report, first match wins.
BENCHMARK_REPORTS = (
    "docs/benchmarks/report.rst",
    "docs/benchmarks/report.md",
    "benchmarks/results/report.rst",
    "benchmarks/results/report.md",
)
REPORT_FILES = (".png", ".svg", ".jpg", ".csv")


def prepare_benchmark_report(root, docs, have_markdown):
    """Make the benchmark report part of the site, whatever the suite left.

    The report (first of :data:`BENCHMARK_REPORTS` that exists) is copied with
    its pictures to ``docs/_generated/benchmarks/`` and becomes a page; the
    snippet ``docs/_generated/benchmark_report.inc``, included by
    ``benchmarks.rst``, links to it or says that no report exists yet.
    Returns the report's path, or None.
    """
    import shutil

    root, docs = Path(root), Path(docs)
    target = docs / "_generated" / "benchmarks"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    report = next((root / name for name in BENCHMARK_REPORTS if (root / name).is_file()), None)
    if report is not None and report.suffix == ".md" and not have_markdown:
        snippet = (f"A report exists (``{report.relative_to(root)}``) but ``myst-parser`` is not "
                   "installed to render Markdown: ``pip install -e '.[docs]'``.\n")
        report = None
    elif report is None:
        snippet = ("No benchmark report has been written yet.  Run the suite "
                   "(``python -m benchmarks``) and rebuild these pages: the report it writes "
                   "to ``benchmarks/results/report.md`` appears here.\n")
    else:
        for path in report.parent.iterdir():
            if path.suffix.lower() in REPORT_FILES and path.is_file():
                shutil.copy2(path, target / path.name)
        shutil.copy2(report, target / ("report" + report.suffix))
        snippet = (f"The latest report, written by the benchmark suite to "
                   f"``{report.relative_to(root)}``:\n\n"
                   ".. toctree::\n   :maxdepth: 2\n\n   _generated/benchmarks/report\n")
    inc = docs / "_generated" / "benchmark_report.inc"
    if not inc.exists() or inc.read_text(encoding="utf-8") != snippet:
        inc.write_text(snippet, encoding="utf-8")
    return report


# --------------------------------------------------------------------------- Sphinx extension

def _primitive_signature(app, what, name, obj, options, signature, return_annotation):
    """Show the real signature of autograd primitives, not ``(*args, **kwargs)``."""
    wrapped = getattr(obj, "fun", None)
    if getattr(obj, "_is_autograd_primitive", False) or (
            callable(wrapped) and getattr(obj, "__module__", "") == "autograd.tracer"):
        try:
            return str(inspect.signature(wrapped)), return_annotation
        except (TypeError, ValueError):
            return None
    return None


def _resolve_by_suffix(app, env, node, contnode):
    """Resolve an unqualified warpkit name (``conv2d`` in a module docstring of
    ``warpkit.nn.layers``) to the one documented object whose name ends with it.

    Names are documented where warpkit exports them (``warpkit.nn.conv2d``), so a
    docstring that names a sibling plainly would otherwise not resolve.  Only a
    unique match among warpkit's own objects counts; anything else stays an error.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target or target.startswith(("warpkit.", "numpy", "numba", "autograd")):
        return None
    domain = env.get_domain("py")
    suffix = "." + target.lstrip(".~")
    matches = [name for name in domain.objects
               if name.startswith("warpkit.") and name.endswith(suffix)]
    if len(matches) != 1:
        return None
    node = node.deepcopy()
    node["reftarget"] = matches[0]
    node["refspecific"] = False
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], matches[0],
                               node, contnode)


def setup(app):
    app.connect("autodoc-process-signature", _primitive_signature)
    app.connect("missing-reference", _resolve_by_suffix)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
