"""Every module of the project imports on its own, whatever was imported before it.

An import cycle can hide behind import order: the suite imports ``tabfm`` first, so a module
that only works after it passes every other test. Here each module is the first of the project
to be imported (the project's modules are dropped from ``sys.modules`` before each one;
third-party packages stay loaded, since a cycle can only run through the project's own code).
"""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO_ROOT

PACKAGES = ("bench", "causalmix", "search_spaces", "storage", "tabfm", "tuner")

_SCRIPT = """
import importlib, pkgutil, sys, traceback
packages = sys.argv[1:]
modules = []
for name in packages:
    package = importlib.import_module(name)
    modules.append(name)
    found = pkgutil.walk_packages(package.__path__, name + ".")
    modules += [m.name for m in found if not m.name.endswith(".__main__")]
failed = []
for module in modules:
    for loaded in [m for m in sys.modules if m.split(".")[0] in packages]:
        del sys.modules[loaded]
    try:
        importlib.import_module(module)
    except Exception:
        failed.append(module + ": " + traceback.format_exc().strip().splitlines()[-1])
print(len(modules))
print("\\n".join(failed))
"""


def test_every_module_imports_first() -> None:
    packages = [p for p in PACKAGES if (REPO_ROOT / p / "__init__.py").is_file()]
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, *packages],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    count, *failed = result.stdout.strip().splitlines()
    assert int(count) > 60  # every module was found
    assert failed == [], "\n".join(failed)


def test_benchmark_scripts_use_public_names_only() -> None:
    private = re.compile(rf"^\s*(?:from|import)\s+(?:{'|'.join(PACKAGES)})\.\w*_\w*", re.M)
    offenders = [
        f"{path.name}: {match.group(0).strip()}"
        for path in sorted((REPO_ROOT / "benchmarks").glob("*.py"))
        for match in private.finditer(path.read_text())
    ]
    assert offenders == []
