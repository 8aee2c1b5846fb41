"""The cache format of fitted mechanisms: plain arrays for roots and linear mechanisms, skops.io
with an allowlist of types for the others, never pickle."""

from __future__ import annotations

import functools
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from causalmix._mechanisms import (
    _ARRAYS_HEADER,
    _HEADER,
    decode_mechanism,
    encode_mechanism,
    fit_mechanism,
)
from causalmix._quiet import global_numpy_seed


@functools.cache
def _mechanisms() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=120)
    parents = np.column_stack([x, rng.integers(0, 3, 120).astype(str)]).astype(object)
    numeric = 2 * x + rng.normal(size=120)
    labels = np.where(numeric > 0, "a", "b").astype(object)
    return {
        "root": fit_mechanism(None, numeric, [], False, "linear", 0),
        "discrete root": fit_mechanism(None, labels, [], True, "linear", 0),
        "additive noise": fit_mechanism(parents, numeric, [0, 3], False, "linear", 0),
        "classifier": fit_mechanism(parents, labels, [0, 3], True, "linear", 0),
        "chosen classifier": fit_mechanism(parents, labels, [0, 3], True, "good", 0),
        "boosted regressor": _boosted(parents, numeric),
    }


def _boosted(parents: np.ndarray, values: np.ndarray) -> object:
    """An additive-noise mechanism over a non-linear model (one ``"better"`` may choose)."""
    from dowhy import gcm
    from sklearn.ensemble import HistGradientBoostingRegressor

    from causalmix._mechanisms import OneHotInputRegressor

    model = OneHotInputRegressor(
        HistGradientBoostingRegressor(max_iter=10, random_state=0), (0, 3)
    )
    mechanism = gcm.AdditiveNoiseModel(model)
    mechanism.fit(parents, values)
    return mechanism


@pytest.mark.parametrize("name", list(_mechanisms()))
def test_a_decoded_mechanism_draws_exactly_what_the_fitted_one_draws(name: str) -> None:
    mechanism = _mechanisms()[name]
    raw = encode_mechanism(mechanism)
    # Roots and linear mechanisms (DoWhy chose a logistic regression too) are plain arrays;
    # any other model is skops.
    assert raw.startswith(_HEADER if name == "boosted regressor" else _ARRAYS_HEADER)
    again = decode_mechanism(raw)
    assert type(again) is type(mechanism)
    rng = np.random.default_rng(1)
    parents = np.column_stack([rng.normal(size=30), rng.integers(0, 3, 30).astype(str)])
    parents = parents.astype(object)
    from dowhy.gcm.causal_mechanisms import StochasticModel

    draws = []
    for model in (mechanism, again):
        with global_numpy_seed(5):
            if isinstance(model, StochasticModel):  # a root
                draws.append(np.asarray(model.draw_samples(30)))
            else:
                draws.append(np.asarray(model.draw_samples(parents)))
    np.testing.assert_array_equal(draws[0], draws[1])


class _Payload:
    """Loading this with pickle runs ``open(marker, "w")``."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.marker, "w"))


def test_a_cache_entry_with_foreign_types_or_a_pickle_is_refused_without_running_it(
    tmp_path: Path,
) -> None:
    import skops.io

    marker = tmp_path / "ran"
    header = _HEADER
    # A pickle under the old header, and under the skops and arrays headers (an .npz holding
    # an object array is a pickle inside): none is unpickled.
    object_array = io.BytesIO()
    np.savez(object_array, payload=np.array([_Payload(marker)], dtype=object))
    for raw in (
        b"causalmix-mechanism-pickle-v1\n" + pickle.dumps(_Payload(marker)),
        header + pickle.dumps(_Payload(marker)),
        _ARRAYS_HEADER + pickle.dumps(_Payload(marker)),
        _ARRAYS_HEADER + object_array.getvalue(),
    ):
        with pytest.raises(Exception):  # noqa: B017 - refused, whatever the parser says
            decode_mechanism(raw)
    # A valid skops file of a type outside the allowlist is refused before anything is built.
    with pytest.raises(ValueError, match="not trusted.*_Payload"):
        decode_mechanism(header + skops.io.dumps(_Payload(marker)))
    assert not marker.exists()


def test_an_arrays_entry_of_an_unknown_kind_is_refused() -> None:
    raw = io.BytesIO()
    np.savez(raw, kind=np.array("additive_noise"), estimator=np.array("SVR"))
    with pytest.raises(ValueError, match="unknown kind.*SVR"):
        decode_mechanism(_ARRAYS_HEADER + raw.getvalue())


def _zoo() -> dict[str, object]:
    """Every model DoWhy's ``"good"`` and ``"better"`` assignment may choose, by name."""
    from dowhy.gcm import auto

    lists = (
        auto._LIST_OF_POTENTIAL_REGRESSORS_BETTER,
        auto._LIST_OF_POTENTIAL_CLASSIFIERS_BETTER,
    )
    return {getattr(f, "func", f).__name__: f for models in lists for f in models}


@pytest.mark.parametrize("name", sorted(_zoo()))
def test_every_model_dowhy_may_choose_is_cached_and_read_back(name: str) -> None:
    from dowhy import gcm

    from causalmix._mechanisms import OneHotInputClassifier, OneHotInputRegressor

    rng = np.random.default_rng(0)
    x = rng.normal(size=150)
    parents = np.column_stack([x, rng.integers(0, 3, 150).astype(str)]).astype(object)
    numeric = 2 * x + rng.normal(size=150)
    estimator = _zoo()[name]().sklearn_model  # type: ignore[operator]
    mechanism: Any
    if name.endswith("classifier"):
        mechanism = gcm.ClassifierFCM(OneHotInputClassifier(estimator, (0, 3)))
        mechanism.fit(parents, np.where(numeric > 0, "a", "b").astype(object))
    else:
        mechanism = gcm.AdditiveNoiseModel(OneHotInputRegressor(estimator, (0, 3)))
        mechanism.fit(parents, numeric)
    again = decode_mechanism(encode_mechanism(mechanism))  # refused types raise here
    draws = []
    for model in (mechanism, again):
        with global_numpy_seed(5):
            draws.append(np.asarray(model.draw_samples(parents[:40])))
    np.testing.assert_array_equal(draws[0], draws[1])
