from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import tabfm
from tabfm import (
    BACKENDS,
    BaseBackend,
    TabFMBackend,
    TabFMClassifier,
    TabFMError,
    get_backend,
    make_classifier,
)


def test_registry_loads_the_builtin_backend_on_cpu() -> None:
    backend = get_backend("tabfm", device="cpu")
    assert isinstance(backend, TabFMBackend) and BACKENDS["tabfm"] is TabFMBackend
    assert backend.name == "tabfm" and backend.device_name == "cpu"
    assert sum(p.numel() for p in backend.parameters()) == backend.model.n_parameters()


def test_unknown_backend_and_bad_device_raise() -> None:
    with pytest.raises(TabFMError, match="Unknown backend 'no-such-backend'"):
        get_backend("no-such-backend")
    with pytest.raises(TabFMError, match="device='gpu'"):
        get_backend("tabfm", device="gpu")


def test_categorical_max_levels_is_set_on_load_and_checked() -> None:
    assert get_backend("tabfm", device="cpu").categorical_max_levels == 3
    assert get_backend("tabfm", device="cpu", categorical_max_levels=0).categorical_max_levels == 0
    with pytest.raises(TabFMError, match="categorical_max_levels=-1"):
        get_backend("tabfm", device="cpu", categorical_max_levels=-1)
    # A backend whose ensemble does not shuffle categories refuses it before loading anything
    # (so without its package or weights).
    assert not BACKENDS["tabpfn"].shuffles_categories
    with pytest.raises(TabFMError, match="'tabpfn' does not shuffle .* categorical_max_levels=5"):
        get_backend("tabpfn", weights="/nowhere", categorical_max_levels=5)


def test_zero_shot_classifier_and_episode_forward_agree(
    toy_table: tuple[pd.DataFrame, pd.Series],
) -> None:
    backend = get_backend("tabfm", device="cpu")
    X, y = toy_table
    classifier = make_classifier(backend, n_estimators=1)
    assert isinstance(classifier, TabFMClassifier)
    proba = classifier.fit(X[:200], y[:200]).predict_proba(X[200:])
    preprocessor = backend.make_preprocessor()
    preprocessor.fit(X[:200])
    x_context = torch.from_numpy(preprocessor.transform(X[:200]))
    x_query = torch.from_numpy(preprocessor.transform(X[200:]))
    y_context = torch.from_numpy((y[:200] == "yes").to_numpy().astype(np.int64))
    with torch.no_grad():
        logits = backend.forward_episode(x_context, y_context, x_query, 2)
    assert logits.shape == (100, 2)
    # Same network, same inputs: both paths rank the query rows alike.
    episode = torch.softmax(logits, -1)[:, 1].numpy()
    assert np.corrcoef(episode, proba[:, 1])[0, 1] > 0.5


def test_clone_is_independent_and_state_round_trips() -> None:
    backend = get_backend("tabfm", device="cpu")
    copy = backend.clone()
    state = backend.state_dict()
    with torch.no_grad():
        for parameter in copy.parameters():
            parameter.add_(1.0)
    for name, tensor in backend.module.state_dict().items():
        assert torch.equal(tensor, state[name])
    copy.load_state_dict(state)
    for name, tensor in copy.module.state_dict().items():
        assert torch.equal(tensor, state[name])


def test_importing_tabfm_does_not_import_torch_eagerly() -> None:
    import subprocess
    import sys

    code = "import sys, tabfm; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"
    assert issubclass(TabFMBackend, BaseBackend) and "TabFMModel" in tabfm.__all__
