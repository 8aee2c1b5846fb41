"""The first trials of a new study: the references, then the portfolio."""

from __future__ import annotations

import optuna

from search_spaces import Portfolio, load_portfolio, load_space
from tuner._references import PORTFOLIO_ATTR, enqueue_first_trials


def test_a_study_enqueues_the_references_then_the_portfolio() -> None:
    space = load_space("default")
    portfolio = Portfolio(
        name="p",
        candidates={
            "same-as-default-ft": {"synthetic_ratio": 0.0},
            "more": {"synthetic_ratio": 2.0, "learning_rate": 3e-4},
            "fci": {"discovery": "fci"},
        },
        configs=("same-as-default-ft", "more", "fci"),
    )
    study = optuna.create_study(direction="maximize")
    names = enqueue_first_trials(study, space, 20, portfolio=portfolio)
    # The first candidate is default fine-tuning in this space: enqueued once.
    assert names == ["default_ft", "causalmixft", "more", "fci"]
    trials = study.get_trials(deepcopy=False)
    assert [t.user_attrs.get(PORTFOLIO_ATTR) for t in trials] == [None, None, "more", "fci"]
    assert [t.user_attrs.get("reference") for t in trials[:2]] == ["default_ft", "causalmixft"]
    more, fci = (t.system_attrs["fixed_params"] for t in trials[2:])
    assert more["synthetic_ratio"] == 2.0 and more["learning_rate"] == 3e-4
    assert more["discovery"] == "pc" and fci["discovery"] == "fci"


def test_the_enqueued_trials_never_exceed_the_study_and_can_be_switched_off() -> None:
    space = load_space("default")
    # The shipped candidates, four of them in the portfolio (the shipped one holds three).
    shipped = load_portfolio("default")
    portfolio = Portfolio(
        name="four", candidates=shipped.candidates, configs=tuple(shipped.candidates)[:4]
    )
    study = optuna.create_study(direction="maximize")
    assert len(enqueue_first_trials(study, space, 3, portfolio=portfolio)) == 3
    study = optuna.create_study(direction="maximize")
    names = enqueue_first_trials(study, space, 20, references=False, portfolio=portfolio)
    assert names and names == [n for n in portfolio.configs if n in names]
    study = optuna.create_study(direction="maximize")
    assert enqueue_first_trials(study, space, 20, references=False, portfolio=None) == []
    assert enqueue_first_trials(study, load_space("paper"), 20, portfolio=portfolio) == []
