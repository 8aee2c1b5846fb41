"""scikit-learn's own estimator checks on the in-context classifiers.

Deliberate exceptions, each with its reason, are the only checks allowed to fail.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from tabfm import FineTunedClassifier, TabFMClassifier, get_backend

COMMON = {
    "check_dtype_object": (
        "string columns are categories, but a non-scalar value (a dict) in a column is refused "
        "with a one-line TabFMError (a ValueError) naming the column, not the TypeError this "
        "check expects from numeric-only estimators"
    ),
    "check_methods_subset_invariance": (
        "float32 inference: a row's probability depends on the other query rows of its "
        "forward pass at the 1e-7 level (this check's tolerance)"
    ),
}
FINE_TUNED = {
    "check_estimators_overwrite_params": (
        "the backend parameter holds a torch module, whose joblib hash differs between deep "
        "copies; test_fit_leaves_the_backend_weights_unchanged checks that fit does not "
        "change it"
    ),
}


def _expected_failures(estimator: Any) -> dict[str, str]:
    return COMMON | (FINE_TUNED if isinstance(estimator, FineTunedClassifier) else {})


@pytest.mark.slow
@parametrize_with_checks(
    [
        TabFMClassifier(n_estimators=1, device="cpu"),
        FineTunedClassifier(get_backend("tabfm", device="cpu"), n_estimators=1),
    ],
    expected_failed_checks=_expected_failures,
)
def test_scikit_learn_estimator_checks(estimator: Any, check: Any) -> None:
    check(estimator)


def test_fit_leaves_the_backend_weights_unchanged() -> None:
    import torch

    backend = get_backend("tabfm", device="cpu")
    before = backend.state_dict()
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    FineTunedClassifier(backend, n_estimators=1).fit(X, y).predict(X[:5])
    after = backend.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
