"""The release files: one source for the version, every package in the wheel, a complete sdist.

``.ci/run`` also builds the sdist and the wheel with ``python -m build``, checks
them with ``twine check`` and installs the wheel into a fresh environment for a
smoke test; the tests here need no network.
"""

import ast
import re
import shutil
import subprocess
import sys
import tarfile
from importlib import metadata
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent

#: What the sdist must never carry: caches and what builds and runs write.
JUNK = re.compile(r"(^|/)(__pycache__|\.hypothesis|\.pytest_cache)(/|$)|\.py[cod]$"
                  r"|^(build|dist|results)/|^docs/(_build|_generated|api|auto_examples)/"
                  r"|^docs/sg_execution_times\.rst$|^benchmarks/results/(quick|tmp)/")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _literal_version():
    """``__version__`` of warpkit/__init__.py, read as setuptools does: without importing."""
    tree = ast.parse((ROOT / "warpkit" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "__version__"
                for target in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("warpkit/__init__.py assigns no literal __version__")


def test_version_has_one_source():
    import warpkit

    project = _pyproject()
    assert "version" not in project["project"], "pyproject.toml must not repeat the version"
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "warpkit.__version__"}
    assert _literal_version() == warpkit.__version__


def test_changelog_has_an_entry_for_the_version():
    changelog = (ROOT / "docs" / "changelog.rst").read_text(encoding="utf-8")
    heading = re.escape(_literal_version())
    assert re.search(rf"^{heading} \((unreleased|\d{{4}}-\d{{2}}-\d{{2}})\)$", changelog, re.M)


def test_every_subpackage_is_packaged():
    """A folder of modules without ``__init__.py`` would silently miss the wheel."""
    from setuptools import find_packages

    include = _pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    found = set(find_packages(str(ROOT), include=include))
    folders = {".".join(path.relative_to(ROOT).parts)
               for path in [ROOT / "warpkit", *(ROOT / "warpkit").rglob("*")]
               if path.is_dir() and path.name != "__pycache__" and any(path.glob("*.py"))}
    assert folders <= found, f"not packages (no __init__.py): {sorted(folders - found)}"


def _tracked_files():
    """Files git tracks that exist in the working tree; None outside a git checkout."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split("\n")
    return {name for name in listed if name and (ROOT / name).is_file()}


#: Output of builds, runs and the docs, planted in the copy that the sdist is built from.
PLANTED = ("warpkit/__pycache__/grids.cpython-311.pyc", "tests/__pycache__/x.cpython-311.pyc",
           "benchmarks/x.pyc", "docs/_build/html/index.html",
           "docs/auto_examples/index.rst", "docs/api/generated/warpkit.grid_sample.rst",
           "benchmarks/results/quick/report.md", "results/run/log.txt", "build/lib/x.py",
           "tests/.hypothesis/examples/x")


def _source_copy(destination):
    """The working tree without git, virtual environments, caches or a stale ``*.egg-info``
    (setuptools adds every file an old ``SOURCES.txt`` lists), plus planted junk."""
    shutil.copytree(ROOT, destination, ignore=shutil.ignore_patterns(
        ".git", ".venv", "venv", "*.egg-info", "__pycache__", ".hypothesis", "dist", "build"))
    for name in PLANTED:
        path = destination / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("junk\n")
    return destination


def test_sdist_holds_the_sources_and_no_junk(tmp_path):
    pytest.importorskip("build")
    try:
        setuptools_major = int(metadata.version("setuptools").split(".")[0])
    except metadata.PackageNotFoundError:
        setuptools_major = 0
    if setuptools_major < 77:
        pytest.skip("building needs setuptools >= 77 (pyproject.toml's build-system)")
    source = _source_copy(tmp_path / "source")
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation",
                    "--outdir", str(tmp_path / "dist"), str(source)],
                   check=True, capture_output=True, timeout=300)
    (sdist,) = (tmp_path / "dist").glob("warpkit-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    required = {"pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "warpkit/__init__.py",
                "docs/conf.py", "docs/index.rst", "docs/_ext/warpkit_docs.py",
                "tests/test_docs.py", "tests/reference.py", "benchmarks/__main__.py",
                "benchmarks/results/baseline.json"}
    assert required <= names, sorted(required - names)
    tracked = _tracked_files()
    if tracked is not None:
        wanted = {name for name in tracked if not name.startswith(".")}  # not .ci/, .gitignore
        assert wanted <= names, f"tracked but not in the sdist: {sorted(wanted - names)}"
    junk = sorted(name for name in names if JUNK.search(name))
    assert not junk, f"the sdist carries build or run output: {junk}"
    assert all(JUNK.search(name) for name in PLANTED)  # the pattern knows every planted file
