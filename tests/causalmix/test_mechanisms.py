"""The cache format of fitted mechanisms: skops.io with an allowlist of types, never pickle."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from causalmix._mechanisms import decode_mechanism, encode_mechanism, fit_mechanism
from causalmix._quiet import global_numpy_seed


def _mechanisms() -> dict[str, object]:
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
    }


@pytest.mark.parametrize("name", list(_mechanisms()))
def test_a_decoded_mechanism_draws_exactly_what_the_fitted_one_draws(name: str) -> None:
    mechanism = _mechanisms()[name]
    raw = encode_mechanism(mechanism)
    assert b"pickle" not in raw[:40]
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
    header = encode_mechanism(_mechanisms()["root"]).split(b"\n", 1)[0] + b"\n"
    # A pickle under the old header, and one under the new header: neither is unpickled.
    for raw in (
        b"causalmix-mechanism-pickle-v1\n" + pickle.dumps(_Payload(marker)),
        header + pickle.dumps(_Payload(marker)),
    ):
        with pytest.raises(Exception):  # noqa: B017 - refused, whatever the parser says
            decode_mechanism(raw)
    # A valid skops file of a type outside the allowlist is refused before anything is built.
    with pytest.raises(ValueError, match="not trusted.*_Payload"):
        decode_mechanism(header + skops.io.dumps(_Payload(marker)))
    assert not marker.exists()
