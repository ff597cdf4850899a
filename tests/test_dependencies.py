"""The declared dependencies (pyproject.toml) cover README command 1, `snakemake --report` included.

The test extra pulls in pygments through pytest, so importing it in the test environment proves
nothing; this test walks the requirement closure of what ``pip install -e .`` installs instead.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import REPO

tomllib = pytest.importorskip("tomllib" if __import__("sys").version_info >= (3, 11) else "tomli")

# distributions `snakemake --report` imports at run time (snakemake.report.html_reporter);
# pygments is optional in snakemake (its `reports` extra) and the one a fresh install missed
REPORT_DISTRIBUTIONS = {"pygments": "pygments.formatters", "jinja2": "jinja2", "docutils": "docutils.core"}


def requirement_closure(requirements: list[str]) -> set[str]:
    """Canonical names of every distribution the requirements pull in (extras followed, markers evaluated)."""
    seen: set[str] = set()
    todo = [(Requirement(r), ()) for r in requirements]
    while todo:
        req, parent_extras = todo.pop()
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (parent_extras or ("",))):
            continue
        name = canonicalize_name(req.name)
        key = f"{name}[{','.join(sorted(req.extras))}]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dist_requires = md.requires(req.name) or []
        except md.PackageNotFoundError:
            continue  # not installed here: its own requirements cannot be followed
        todo += [(Requirement(r), tuple(req.extras)) for r in dist_requires]
    return {key.split("[")[0] for key in seen}


def declared_dependencies() -> list[str]:
    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["dependencies"]


def test_install_covers_snakemake_report():
    closure = requirement_closure(declared_dependencies())
    missing = sorted(set(REPORT_DISTRIBUTIONS) - closure)
    assert not missing, f"pyproject.toml dependencies do not pull in {missing}, which `snakemake --report` needs"


@pytest.mark.parametrize("module", sorted(REPORT_DISTRIBUTIONS.values()))
def test_report_modules_import(module):
    importlib.import_module(module)


def test_closure_follows_extras_and_markers():
    # pygments comes only through snakemake's `reports` extra (marker `extra == "reports"`)
    assert "pygments" in requirement_closure(["snakemake[reports]"])
    assert "pygments" not in requirement_closure(["snakemake"])
