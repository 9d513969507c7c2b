"""The layers of docs/architecture.rst, checked against the imports.

Every module belongs to one layer; a module imports only from its own layer
or the layers below it (imports inside functions included).  The kernels
hold arithmetic only: nothing in ``warpkit.kernels`` reaches the backends,
the primitives or anything above.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "warpkit"

#: Layers, lowest first, as module-name prefixes (the longest prefix wins).
LAYERS = [
    ("conventions", ["warpkit._config", "warpkit._cache", "warpkit.coords"]),
    ("kernels", ["warpkit.kernels"]),
    ("backends", ["warpkit._validate", "warpkit._args", "warpkit._device",
                  "warpkit.backends"]),
    ("primitives", ["warpkit.families", "warpkit._primitives", "warpkit.sampling",
                    "warpkit.fused", "warpkit.grids", "warpkit.tps", "warpkit.displacement",
                    "warpkit.regularizers"]),
    ("geometry", ["warpkit.transforms", "warpkit.dispatch"]),
    ("chunked", ["warpkit.dask"]),
    ("nn/data", ["warpkit.nn", "warpkit.data"]),
    ("cli", ["warpkit.cli", "warpkit.experiments", "warpkit.pictures", "warpkit.addition",
             "warpkit.registration", "warpkit.__main__"]),
]


def layer_of(module):
    matches = [(len(prefix), rank) for rank, (_, prefixes) in enumerate(LAYERS)
               for prefix in prefixes if module == prefix or module.startswith(prefix + ".")]
    return max(matches)[1] if matches else None


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path):
    """Every warpkit module ``path`` imports (``from . import x`` counts as ``pkg.x``)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("warpkit"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("warpkit"):
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                exists = (PACKAGE.parent / (submodule.replace(".", "/") + ".py")).exists() or (
                    PACKAGE.parent / submodule.replace(".", "/")).is_dir()
                yield submodule if exists else target


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"
                 or p.parent != PACKAGE)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_never_run_upward(path):
    importer = module_name(path)
    rank = layer_of(importer)
    assert rank is not None, f"{importer} belongs to no layer: add it to LAYERS"
    for imported in imported_modules(path):
        if imported == "warpkit":
            continue
        imported_rank = layer_of(imported)
        assert imported_rank is not None, f"{imported} belongs to no layer"
        assert imported_rank <= rank, (
            f"{importer} ({LAYERS[rank][0]}) imports {imported} ({LAYERS[imported_rank][0]})")


def test_the_check_can_see_an_upward_import(tmp_path):
    # The parser must resolve relative imports, or the test above passes vacuously.
    kernels = sorted((PACKAGE / "kernels").glob("*.py"))
    assert any("warpkit.kernels" in m for path in kernels for m in imported_modules(path))
    assert layer_of("warpkit.backends.cpu") > layer_of("warpkit.kernels.cpu")


def test_the_documented_layers_match():
    text = (PACKAGE.parent / "docs" / "architecture.rst").read_text(encoding="utf-8")
    positions = [text.index(name) for name, _ in LAYERS]
    assert positions == sorted(positions, reverse=True)  # drawn top (cli) to bottom
    for _, prefixes in LAYERS:
        for prefix in prefixes:
            assert prefix.rpartition(".")[2] in text, prefix
