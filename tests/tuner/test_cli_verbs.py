"""Verbs of other packages come through the entry-point group `causalmix.verbs`."""

from __future__ import annotations

from importlib.metadata import entry_points

from bench import BenchError
from tuner._cli import VERB_GROUP, build_parser


def test_the_benchmark_registers_its_own_verb_and_errors() -> None:
    # The tuning service does not import the benchmark (an import contract in pyproject.toml);
    # the installed package's entry point brings its verb and its bad-input error.
    assert {p.name: p.value for p in entry_points(group=VERB_GROUP)} == {
        "bench": "bench._cmd_bench"
    }
    parser = build_parser()
    args = parser.parse_args(["bench", "--datasets", "diabetes", "--out", "x"])
    assert BenchError in parser.user_errors  # type: ignore[attr-defined]
    assert "user_errors" not in vars(args)  # bench records its arguments verbatim
    assert args.func.__module__ == "bench._cmd_bench"
