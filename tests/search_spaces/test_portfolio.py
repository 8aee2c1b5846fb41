from __future__ import annotations

import logging
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


def _folds(table: dict[str, dict[str, float]]) -> dict[str, dict[str, list[float]]]:
    """One fold per dataset."""
    return {c: {d: [v] for d, v in row.items()} for c, row in table.items()}


# Normalized ROC-AUC (%) on one fold of four datasets: x is the +8.6 / -4.3 kind of
# configuration, z a small gain everywhere. Ranks per dataset among (ref, x, z), 0..1:
#   a: ref 0, z .5, x 1 | b: x 0, ref .5, z 1 | c, d: ref and x tie at .25, z 1.
SWINGS = _folds(
    {
        "ref": {"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0},
        "x": {"a": 8.6, "b": -4.3, "c": 0.0, "d": 0.0},
        "z": {"a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5},
    }
)


def test_greedy_coverage_is_on_ranks_not_on_the_raw_scale() -> None:
    # On the raw scale x raises the mean of the per-dataset best most (8.6 / 4 against 0.5);
    # on ranks, z gains .5, .5, .75, .75 and x only 1, 0, 0, 0. (Validation = test here.)
    assert greedy_portfolio(SWINGS, SWINGS, size=1, start=["ref"]) == ["z"]


def test_greedy_coverage_stops_when_a_member_adds_less_than_the_noise() -> None:
    # After z, x would still win dataset a (gains .5, 0, 0, 0: mean .125, standard error
    # .125): not more than one standard error, so it is not added; with noise_z=0 it is.
    assert greedy_portfolio(SWINGS, SWINGS, size=3, start=["ref"]) == ["z"]
    assert greedy_portfolio(SWINGS, SWINGS, size=3, start=["ref"], noise_z=0) == ["z", "x"]


def test_greedy_coverage_counts_the_member_that_validation_picks() -> None:
    test = _folds(
        {
            "ref": {"a": 0.0, "b": 0.0, "c": 0.0},
            "lucky": {"a": 5.0, "b": 5.0, "c": 5.0},  # the best on test, the worst on validation
            "honest": {"a": 1.0, "b": 1.0, "c": 1.0},
        }
    )
    valid = _folds(
        {
            "ref": {"a": 0.8, "b": 0.8, "c": 0.8},
            "lucky": {"a": 0.5, "b": 0.5, "c": 0.5},
            "honest": {"a": 0.9, "b": 0.9, "c": 0.9},
        }
    )
    # A study would never keep lucky over ref, so lucky adds nothing; an oracle would take it.
    assert greedy_portfolio(test, valid, size=2, start=["ref"], noise_z=0) == ["honest"]
    assert greedy_portfolio(test, test, size=1, start=["ref"], noise_z=0) == ["lucky"]


def test_greedy_coverage_picks_by_validation_per_fold() -> None:
    # Two folds: on fold 0 validation prefers y (test rank 1), on fold 1 it prefers ref.
    test = {"ref": {"a": [0.0, 0.0]}, "y": {"a": [1.0, 1.0]}}
    valid = {"ref": {"a": [0.5, 0.9]}, "y": {"a": [0.6, 0.8]}}
    assert greedy_portfolio(test, valid, size=1, start=["ref"], noise_z=0) == ["y"]
    valid_never = {"ref": {"a": [0.9, 0.9]}, "y": {"a": [0.6, 0.8]}}
    assert greedy_portfolio(test, valid_never, size=1, start=["ref"], noise_z=0) == []


def test_greedy_coverage_without_a_start_takes_the_best_mean_first() -> None:
    # Mean rank alone: ref .25, x .375, z .875.
    assert greedy_portfolio(SWINGS, SWINGS, size=1) == ["z"]


def test_greedy_coverage_stops_when_nothing_improves() -> None:
    scores = _folds({"ref": {"a": 1.0, "b": 1.0}, "worse": {"a": 0.5, "b": 1.0}})
    assert greedy_portfolio(scores, scores, size=4, start=["ref"], noise_z=0) == []


def test_greedy_coverage_breaks_ties_by_order() -> None:
    scores = _folds({"ref": {"a": 0.0}, "p": {"a": 1.0}, "q": {"a": 1.0}})
    assert greedy_portfolio(scores, scores, size=1, start=["ref"]) == ["p"]


def test_greedy_coverage_on_a_subset_of_datasets() -> None:
    # Without dataset a, x never helps; z gains on b, c and d.
    chosen = greedy_portfolio(SWINGS, SWINGS, size=2, start=["ref"], datasets=["b", "c", "d"])
    assert chosen == ["z"]


def test_greedy_coverage_needs_every_score_on_paired_folds() -> None:
    with pytest.raises(SearchSpaceError, match=r"'ref' has no test score on \['e'\]"):
        greedy_portfolio(SWINGS, SWINGS, size=1, start=["ref"], datasets=["a", "e"])
    valid = {**SWINGS, "z": {**SWINGS["z"], "a": [0.1, 0.2]}}
    with pytest.raises(SearchSpaceError, match=r"'z' has 2 validation scores on 'a'.*paired"):
        greedy_portfolio(SWINGS, valid, size=1, start=["ref"])
    with pytest.raises(SearchSpaceError, match="noise_z >= 0"):
        greedy_portfolio(SWINGS, SWINGS, size=1, noise_z=-1)


def test_the_shipped_portfolio_loads_and_maps_onto_the_default_space() -> None:
    assert "default" in list_portfolios()
    portfolio = load_portfolio("default")
    # Learned under the v3 weights (README, "The portfolio"): three candidates each added more
    # than one standard error to the references.
    assert portfolio.configs == ("ft-lr1e-3", "mix1-alpha0.2-lr3e-4", "mix1-fci-lr3e-4")
    assert len(portfolio.candidates) == 8
    portfolio = Portfolio(
        name="all", candidates=portfolio.candidates, configs=tuple(portfolio.candidates),
        leave_one_dataset_out=portfolio.leave_one_dataset_out, document=portfolio.document,
    )  # fmt: skip
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


def _learned(fingerprints: dict[str, str] | None) -> Portfolio:
    document = {} if fingerprints is None else {"learned_with": {"fingerprints": fingerprints}}
    return Portfolio(
        name="p",
        candidates={"one": {"synthetic_ratio": 1.0}, "two": {"learning_rate": 3e-4}},
        configs=("one", "two"),
        leave_one_dataset_out={"car": ("two",), "diabetes": ()},
        document=document,
    )


def test_a_learning_dataset_under_another_name_is_recognised_by_its_fingerprint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    portfolio = _learned({"car": "c" * 16, "diabetes": "d" * 16})
    assert portfolio.fingerprints == {"car": "c" * 16, "diabetes": "d" * 16}
    with caplog.at_level(logging.WARNING, logger="causalmix"):
        renamed = portfolio.without("my-cars", "c" * 64)
    assert renamed.configs == ("two",) and renamed.name == "p without car"
    message = "'my-cars' has the data of the learning dataset 'car' of the portfolio 'p'"
    assert message in caplog.text
    caplog.clear()
    # By name, or a new dataset: no warning.
    with caplog.at_level(logging.WARNING, logger="causalmix"):
        assert portfolio.without("diabetes", "d" * 64).configs == ()
        assert portfolio.without("new", "e" * 64) is portfolio
    assert not caplog.records


def test_a_portfolio_without_fingerprints_warns_that_it_cannot_tell(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="causalmix"):
        assert _learned(None).without("my-cars", "c" * 64).configs == ("one", "two")
    assert "records no data fingerprints" in caplog.text
    assert "'my-cars'" in caplog.text


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
