from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from search_spaces import (
    GROUPS,
    PARAMETERS,
    SearchSpaceError,
    check_config,
    default_config,
    group_config,
    split_config,
)


def test_every_default_lies_in_its_domain() -> None:
    for name, parameter in PARAMETERS.items():
        assert parameter.problem(parameter.default) is None, name
        assert parameter.group in GROUPS


def test_registry_holds_the_fixed_parameter_names() -> None:
    augmentation = [n for n, p in PARAMETERS.items() if p.group == "augmentation"]
    finetune = [n for n, p in PARAMETERS.items() if p.group == "finetune"]
    assert augmentation == [
        "synthetic_ratio",
        "discovery",
        "indep_test",
        "alpha",
        "depth",
        "n_bootstrap",
        "n_dags",
        "mechanism_quality",
        "class_balance",
    ]
    assert finetune == [
        "learning_rate",
        "weight_decay",
        "epochs",
        "steps_per_epoch",
        "episodes_per_step",
        "context_size",
        "query_fraction",
        "query_source",
        "patience",
        "warmup_fraction",
        "grad_clip",
        "metric",
        "min_delta",
        "min_delta_rule",
        "eval_estimators",
        "frozen_blocks",
    ]


def test_paper_like_defaults() -> None:
    config = default_config()
    assert config["discovery"] == "pc"
    assert config["alpha"] == 0.05
    assert config["n_bootstrap"] == 20
    assert config["n_dags"] == 8
    assert config["synthetic_ratio"] == 1.0
    assert config["learning_rate"] == 1e-4
    assert config["context_size"] == 512


def test_domains_reject_out_of_range_and_open_bounds() -> None:
    assert PARAMETERS["alpha"].problem(0.0) is not None
    assert PARAMETERS["alpha"].problem(1.0) is not None
    assert PARAMETERS["alpha"].problem(0.5) is None
    assert PARAMETERS["depth"].problem(-2) is not None
    assert PARAMETERS["depth"].problem(-1) is None
    assert PARAMETERS["epochs"].problem(2.0) is not None
    assert PARAMETERS["epochs"].problem(True) is not None
    assert PARAMETERS["warmup_fraction"].problem(0.0) is None
    assert PARAMETERS["warmup_fraction"].problem(1.0) is not None
    assert PARAMETERS["learning_rate"].problem(float("inf")) is not None
    assert PARAMETERS["discovery"].problem("ges") is not None


def test_check_config_completes_with_defaults_and_coerces_floats() -> None:
    config = check_config({"synthetic_ratio": 2, "epochs": 3})
    assert list(config) == list(PARAMETERS)
    assert config["synthetic_ratio"] == 2.0 and isinstance(config["synthetic_ratio"], float)
    assert config["epochs"] == 3
    assert config["alpha"] == 0.05


def test_check_config_unknown_name_suggests_closest() -> None:
    with pytest.raises(SearchSpaceError, match=r"'n_dag'.*Did you mean 'n_dags'"):
        check_config({"n_dag": 3})


def test_check_config_value_outside_domain_names_value_and_domain() -> None:
    with pytest.raises(SearchSpaceError) as info:
        check_config({"synthetic_ratio": -0.5})
    message = str(info.value)
    assert "synthetic_ratio=-0.5" in message
    assert "[0, 10]" in message


def test_split_config_groups_engine_kwargs() -> None:
    augmentation, ratio, finetune = split_config({"synthetic_ratio": 0.5, "alpha": 0.01})
    assert ratio == 0.5
    assert "synthetic_ratio" not in augmentation
    assert augmentation["alpha"] == 0.01
    assert set(augmentation) | {"synthetic_ratio"} | set(finetune) == set(PARAMETERS)
    assert finetune["metric"] == "roc_auc"


def test_group_config_keeps_ratio_with_augmentation() -> None:
    grouped = group_config({"learning_rate": 1e-3})
    assert list(grouped) == ["augmentation", "finetune"]
    assert grouped["augmentation"]["synthetic_ratio"] == 1.0
    assert grouped["finetune"]["learning_rate"] == 1e-3


def _outside(parameter: Any) -> list[Any]:
    """Values just outside a parameter's declared domain (an unknown choice, or each bound)."""
    outside: list[Any] = ["no-such-choice"] if parameter.kind == "categorical" else []
    if parameter.low is not None:
        outside.append(parameter.low if parameter.low_open else parameter.low - 1)
    if parameter.high is not None:
        outside.append(parameter.high if parameter.high_open else parameter.high + 1)
    return outside


def test_finetune_parameters_are_the_engines_declared_settings() -> None:
    import dataclasses

    from tabfm import FinetuneConfig, TabFMError

    fields = {f.name: f for f in dataclasses.fields(FinetuneConfig) if f.metadata["tunable"]}
    finetune = {n: p for n, p in PARAMETERS.items() if p.group == "finetune"}
    assert list(finetune) == list(fields)
    assert {n: p.default for n, p in finetune.items()} == {n: f.default for n, f in fields.items()}
    # The same values are refused on both sides, e.g. patience 0 (never stop) is valid for both.
    for name, parameter in finetune.items():
        for value in _outside(parameter):
            with pytest.raises(SearchSpaceError):
                check_config({name: value})
            with pytest.raises(TabFMError):
                FinetuneConfig(**{name: value})
    assert check_config({"patience": 0})["patience"] == FinetuneConfig(patience=0).patience


def test_augmentation_parameters_are_the_augmenters_declared_settings() -> None:
    import dataclasses
    import inspect

    from causalmix import (
        DISCOVERY_ALGORITHMS,
        INDEPENDENCE_TESTS,
        AugmentationSettings,
        CausalAugmenter,
        CausalMixError,
    )

    fields = {f.name: f for f in dataclasses.fields(AugmentationSettings)}
    augmentation = {n: p for n, p in PARAMETERS.items() if p.group == "augmentation"}
    assert list(augmentation) == ["synthetic_ratio", *fields]
    signature = inspect.signature(CausalAugmenter.__init__).parameters
    for name, item in fields.items():
        assert augmentation[name].default == item.default == signature[name].default, name
    assert PARAMETERS["discovery"].choices == tuple(DISCOVERY_ALGORITHMS)
    assert PARAMETERS["indep_test"].choices == ("auto", *INDEPENDENCE_TESTS)
    X = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 3})
    y = pd.Series(np.arange(40) % 2)
    for name, parameter in augmentation.items():
        if name == "synthetic_ratio":
            continue
        for value in _outside(parameter):
            with pytest.raises(SearchSpaceError):
                check_config({name: value})
            with pytest.raises(CausalMixError, match=name):
                CausalAugmenter(**{name: value}).fit(X, y)


def test_the_engines_agree_on_the_most_classes() -> None:
    # causalmix and tabfm may not import each other, so each states the limit; they must agree.
    from causalmix import MAX_CLASSES as augmenter_limit
    from tabfm import MAX_CLASSES as model_limit

    assert augmenter_limit == model_limit
