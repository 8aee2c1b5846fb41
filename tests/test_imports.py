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
