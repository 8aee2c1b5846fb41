from __future__ import annotations

from pathlib import Path

import pytest

from search_spaces import (
    Portfolio,
    SearchSpaceError,
    greedy_portfolio,
    list_portfolios,
    load_portfolio,
    load_space,
    write_portfolio,
)

SCORES = {
    "ref": {"a": 0.0, "b": 0.0, "c": 0.0},
    "x": {"a": 1.0, "b": -1.0, "c": 0.0},  # mean 0.0, but best on a
    "y": {"a": 0.2, "b": 0.2, "c": 0.2},  # the best mean
    "z": {"a": 0.0, "b": 0.9, "c": 0.0},
}


def test_greedy_coverage_adds_what_raises_the_per_dataset_best() -> None:
    # After ref, x raises the mean of the per-dataset best most (a: 0 -> 1): +0.333, against
    # y's +0.2 and z's +0.3; then z (b: 0 -> 0.9), then y (c: 0 -> 0.2, b stays 0.9).
    assert greedy_portfolio(SCORES, size=3, start=["ref"]) == ["x", "z", "y"]
    assert greedy_portfolio(SCORES, size=1, start=["ref"]) == ["x"]


def test_greedy_coverage_without_a_start_takes_the_best_mean_first() -> None:
    # Means: ref 0.0, x 0.0, y 0.2, z 0.3.
    assert greedy_portfolio(SCORES, size=1) == ["z"]


def test_greedy_coverage_stops_when_nothing_improves() -> None:
    scores = {"ref": {"a": 1.0, "b": 1.0}, "worse": {"a": 0.5, "b": 1.0}}
    assert greedy_portfolio(scores, size=4, start=["ref"]) == []


def test_greedy_coverage_breaks_ties_by_order() -> None:
    scores = {"ref": {"a": 0.0}, "p": {"a": 1.0}, "q": {"a": 1.0}}
    assert greedy_portfolio(scores, size=1, start=["ref"]) == ["p"]


def test_greedy_coverage_on_a_subset_of_datasets() -> None:
    # Without dataset a, x only hurts; z is the best addition.
    assert greedy_portfolio(SCORES, size=1, start=["ref"], datasets=["b", "c"]) == ["z"]


def test_greedy_coverage_needs_every_score() -> None:
    with pytest.raises(SearchSpaceError, match=r"'ref' has no score on \['d'\]"):
        greedy_portfolio(SCORES, size=1, start=["ref"], datasets=["a", "d"])


def test_the_shipped_portfolio_loads_and_maps_onto_the_default_space() -> None:
    assert "default" in list_portfolios()
    portfolio = load_portfolio("default")
    assert 1 <= len(portfolio.configs) <= 8
    configs = portfolio.full_configs()
    assert [name for name, _ in configs] == list(portfolio.configs)
    base = load_space("paper").fixed_config()
    for name, config in configs:
        for key, value in portfolio.candidates[name].items():
            assert config[key] == value
        assert {k: v for k, v in config.items() if k not in portfolio.candidates[name]} == {
            k: v for k, v in base.items() if k not in portfolio.candidates[name]
        }
    # Learned leave-one-dataset-out too, on each learning dataset.
    assert set(portfolio.leave_one_dataset_out) == set(
        portfolio.document["learned_with"]["datasets"]
    )


def test_without_a_dataset_gives_the_portfolio_learned_without_it() -> None:
    portfolio = Portfolio(
        name="p",
        candidates={"one": {"synthetic_ratio": 1.0}, "two": {"learning_rate": 3e-4}},
        configs=("one", "two"),
        leave_one_dataset_out={"car": ("two",)},
    )
    assert portfolio.without("car").configs == ("two",)
    assert portfolio.without("diabetes") is portfolio


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    return path


def test_a_user_portfolio_file_defaults_to_all_its_candidates(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "candidates:\n  a: {synthetic_ratio: 2.0}\n  b: {learning_rate: 1e-3}\n"
    )
    portfolio = load_portfolio(path)
    assert portfolio.name == "mine" and portfolio.configs == ("a", "b")
    assert dict(portfolio.full_configs())["b"]["learning_rate"] == 1e-3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("candidates:\n  a: {nope: 1}\n", r"candidate 'a'.*nope"),
        ("candidates:\n  a: {synthetic_ratio: -1}\n", r"candidate 'a'.*synthetic_ratio=-1"),
        ("candidates:\n  a: {}\nconfigs: [b]\n", r"configs names unknown candidates \['b'\]"),
        ("candidates: 3\n", "must be a mapping with `candidates"),
        ("candidates:\n  a: 3\n", r"candidate 'a' must map parameters to values, but got 3"),
        ("candidates:\n  a: {}\nbase: default\n", "`base` must be a space that samples nothing"),
        ("candidates: [\n", "is not valid YAML"),
    ],
)
def test_bad_portfolio_files_are_refused_in_one_line(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(SearchSpaceError, match=message) as info:
        load_portfolio(_write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_unknown_names_and_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(
        SearchSpaceError, match="Unknown portfolio 'defualt'. Did you mean 'default'"
    ):
        load_portfolio("defualt")
    with pytest.raises(SearchSpaceError, match="does not exist"):
        load_portfolio(tmp_path / "missing.yaml")
    with pytest.raises(SearchSpaceError, match="must end in .yaml or .yml, but got"):
        load_portfolio(tmp_path / "portfolio.txt")


def test_write_portfolio_round_trips(tmp_path: Path) -> None:
    document = {
        "name": "p",
        "base": "paper",
        "candidates": {"a": {"synthetic_ratio": 0.5, "learning_rate": 3e-4}},
        "configs": ["a"],
        "leave_one_dataset_out": {"car": []},
    }
    write_portfolio(document, tmp_path / "p.yaml")
    portfolio = load_portfolio(tmp_path / "p.yaml")
    assert portfolio.configs == ("a",) and portfolio.leave_one_dataset_out == {"car": ()}
    with pytest.raises(SearchSpaceError, match="unknown candidates"):
        write_portfolio({**document, "configs": ["zzz"]}, tmp_path / "bad.yaml")
    assert not (tmp_path / "bad.yaml").exists()
