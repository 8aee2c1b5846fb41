"""A portfolio records the TabFM weights it was learned with; tune warns on a mismatch."""

from __future__ import annotations

import logging

import pytest

from search_spaces import Portfolio, load_portfolio
from tabfm import weights_sha256

V1_SHA256 = "afee7d4912c67fcbab8a258be4dcd020cd6fd4a25629e72271e725be00754502"


def test_the_shipped_portfolio_records_the_weights_it_was_learned_with() -> None:
    # Relearned under the shipped (v3) weights: tune does not warn with the defaults.
    portfolio = load_portfolio("default")
    assert portfolio.weights_sha256 == weights_sha256()
    left_out = portfolio.without("car")
    assert left_out.weights_sha256 == weights_sha256()
    assert set(portfolio.fingerprints) == set(portfolio.document["learned_with"]["datasets"])


@pytest.mark.parametrize(
    ("learned", "expected"),
    [(V1_SHA256, "was learned with other TabFM weights"), (None, "does not record"), ("", None)],
)
def test_tune_warns_when_the_portfolio_was_learned_with_other_weights(
    caplog: pytest.LogCaptureFixture, learned: str | None, expected: str | None
) -> None:
    from tuner._service import _check_portfolio_weights
    from tuner._settings import StudySettings

    current = weights_sha256()
    # "" stands for "the weights in use"; None for a file that records none.
    document = {} if learned is None else {"learned_with": {"weights_sha256": learned or current}}
    portfolio = Portfolio(
        name="p", candidates={"a": {"learning_rate": 1e-3}}, configs=("a",), document=document
    )
    settings = StudySettings(data="d.csv", target="target", space={}, backend="tabfm")
    with caplog.at_level(logging.WARNING, logger="causalmix"):
        _check_portfolio_weights(portfolio, settings)
    if expected is None:
        assert caplog.records == []
    else:
        assert len(caplog.records) == 1 and expected in caplog.records[0].getMessage()


def test_the_bench_protocol_records_the_weights_content() -> None:
    from bench._config import BenchConfig, protocol

    assert protocol(BenchConfig(out="x"))["weights_sha256"] == weights_sha256()
