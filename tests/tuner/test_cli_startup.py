"""`causalmix --help` answers without importing the heavy libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from tuner._cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ('torch', 'pandas', 'sklearn', 'optuna', 'causallearn', 'dowhy')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"


def test_lazy_package_names_resolve_and_unknown_names_raise() -> None:
    import causalmix
    import tabfm

    for package in (causalmix, tabfm):
        for name in package.__all__:
            assert getattr(package, name) is not None
        assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="NoSuchName"):
        tabfm.NoSuchName  # noqa: B018
