"""Every module of the project imports on its own, in a fresh interpreter.

An import cycle can hide behind import order: the suite imports ``tabfm`` first, so a module
that only works after it passes every other test. Here each module is imported first, in an
interpreter of its own.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grimp
import pytest

from tests.conftest import REPO_ROOT

PACKAGES = ("bench", "causalmix", "search_spaces", "storage", "tabfm", "tuner")


def _modules() -> list[str]:
    modules = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        modules.append(name)
        found = pkgutil.walk_packages(package.__path__, name + ".")
        modules += [m.name for m in found if not m.name.endswith(".__main__")]
    return modules


@pytest.mark.slow
def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    def import_alone(module: str) -> str | None:
        result = subprocess.run(
            [sys.executable, "-c", f"import {module}"],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=300,
        )
        lines = result.stderr.strip().splitlines()
        return (
            f"{module}: {lines[-1] if lines else result.returncode}" if result.returncode else None
        )

    modules = _modules()
    assert len(modules) > 60  # every module was found
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        failed = [line for line in pool.map(import_alone, modules) if line]
    assert failed == [], "\n".join(failed)


def test_benchmark_scripts_use_public_names_only() -> None:
    private = re.compile(rf"^\s*(?:from|import)\s+(?:{'|'.join(PACKAGES)})\.\w*_\w*", re.M)
    offenders = [
        f"{path.name}: {match.group(0).strip()}"
        for path in sorted((REPO_ROOT / "benchmarks").glob("*.py"))
        for match in private.finditer(path.read_text())
    ]
    assert offenders == []


def _cycles(graph: Any, package: str) -> list[list[str]]:
    """The strongly connected groups (more than one module) of ``package``'s import graph."""
    modules = {m for m in graph.modules if m == package or m.startswith(package + ".")}
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & modules) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's algorithm; the packages are a few dozen deep
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in edges[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return groups


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_circle_inside_a_package(package: str) -> None:
    # Every import counts: the ones inside functions and under TYPE_CHECKING too, since a
    # circle hidden in a function still ties the modules together.
    graph = grimp.build_graph(package, cache_dir=None)
    assert _cycles(graph, package) == []


def test_the_circle_finder_finds_a_circle() -> None:
    class Graph:
        modules = {"p", "p.a", "p.b", "p.c"}

        @staticmethod
        def find_modules_directly_imported_by(module: str) -> set[str]:
            return {"p.a": {"p.b"}, "p.b": {"p.a", "p.c"}}.get(module, set())

    assert _cycles(Graph(), "p") == [["p.a", "p.b"]]
