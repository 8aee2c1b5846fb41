from __future__ import annotations

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
