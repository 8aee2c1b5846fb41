from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from search_spaces import (
    PARAMETERS,
    SearchSpace,
    SearchSpaceError,
    default_config,
    list_spaces,
    load_space,
)

CHAINED: dict[str, Any] = {
    "name": "chained",
    "description": "conditions of every form",
    "params": {
        "synthetic_ratio": {"type": "float", "low": 0.0, "high": 2.0, "step": 0.5},
        "discovery": {
            "type": "categorical",
            "choices": ["pc", "fci"],
            "when": {"synthetic_ratio": {"gt": 0}},
        },
        "indep_test": {
            "type": "categorical",
            "choices": ["fisherz", "kci"],
            "when": {"discovery": ["pc"]},
        },
        "depth": {"value": 2, "when": {"discovery": "fci"}},
        "n_dags": {
            "type": "int",
            "low": 1,
            "high": 32,
            "log": True,
            "when": {"synthetic_ratio": {"ge": 1.0, "le": 1.5}, "discovery": {"ne": "fci"}},
        },
        "epochs": 3,
        "learning_rate": {"type": "float", "low": 1e-5, "high": 1e-3, "log": True},
        "context_size": {"type": "categorical", "choices": [64, 128]},
    },
}


def _quiet_study(**kwargs: Any) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(**kwargs)


def test_shipped_spaces_are_listed_and_load() -> None:
    names = list_spaces()
    assert {"default", "paper", "wide", "fast"} <= set(names)
    for name in names:
        space = load_space(name)
        assert space.name == name
        assert space.description


def test_paper_space_is_one_fixed_config() -> None:
    space = load_space("paper")
    assert space.is_fixed
    config = space.fixed_config()
    assert list(config) == list(PARAMETERS)
    assert config["discovery"] == "pc" and config["alpha"] == 0.05
    assert config["n_bootstrap"] == 20 and config["n_dags"] == 8
    assert config["synthetic_ratio"] == 1.0
    assert config["learning_rate"] == PARAMETERS["learning_rate"].default


def test_fixed_config_of_sampling_space_names_sampled_parameters() -> None:
    with pytest.raises(SearchSpaceError, match=r"'default' samples synthetic_ratio, discovery"):
        load_space("default").fixed_config()


def test_fast_space_is_cheap() -> None:
    config = load_space("fast").suggest(
        optuna.trial.FixedTrial({"synthetic_ratio": 1.0, "alpha": 0.05, "learning_rate": 1e-4})
    )
    assert config["n_bootstrap"] <= 5 and config["n_dags"] <= 4
    assert config["mechanism_quality"] == "linear"
    assert config["epochs"] * config["steps_per_epoch"] <= 10
    assert config["context_size"] <= 128


@pytest.mark.parametrize("name", ["default", "paper", "wide", "fast"])
def test_round_trip_of_shipped_space(name: str) -> None:
    space = load_space(name)
    document = space.to_dict()
    # The dict form survives JSON and YAML, as the tuner stores it in the study.
    assert SearchSpace.from_dict(json.loads(json.dumps(document))) == space
    assert (
        SearchSpace.from_dict(yaml.safe_load(yaml.safe_dump(document, sort_keys=False))) == space
    )


def test_round_trip_with_conditions_of_every_form() -> None:
    space = SearchSpace.from_dict(CHAINED)
    again = SearchSpace.from_dict(json.loads(json.dumps(space.to_dict())))
    assert again == space
    assert again.params[3].to_dict() == {"value": 2, "when": {"discovery": "fci"}}
    assert again.to_dict()["params"]["n_dags"]["when"] == {
        "synthetic_ratio": {"ge": 1.0, "le": 1.5},
        "discovery": {"ne": "fci"},
    }


def test_suggest_returns_full_config_with_conditional_parameters() -> None:
    space = SearchSpace.from_dict(CHAINED)
    study = _quiet_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"synthetic_ratio": 0.0})
    study.enqueue_trial({"synthetic_ratio": 1.0, "discovery": "pc"})
    study.enqueue_trial({"synthetic_ratio": 2.0, "discovery": "fci"})
    configs = []
    for _ in range(3):
        trial = study.ask()
        configs.append((space.suggest(trial), dict(trial.params)))
        study.tell(trial, 0.0)

    off, off_params = configs[0]
    assert list(off) == list(PARAMETERS)
    # Augmentation off: discovery is inactive, so indep_test (which tests discovery) is too,
    # even though discovery's default 'pc' would satisfy its condition.
    assert set(off_params) == {"synthetic_ratio", "learning_rate", "context_size"}
    assert off["discovery"] == "pc" and off["indep_test"] == "auto"
    assert off["depth"] == -1 and off["n_dags"] == PARAMETERS["n_dags"].default
    assert off["epochs"] == 3

    pc, pc_params = configs[1]
    assert {"discovery", "indep_test", "n_dags"} <= set(pc_params)
    assert pc["indep_test"] in ("fisherz", "kci")
    assert 1 <= pc["n_dags"] <= 32 and pc["depth"] == -1

    fci, fci_params = configs[2]
    assert "indep_test" not in fci_params and "n_dags" not in fci_params
    assert fci["depth"] == 2 and fci["indep_test"] == "auto"


def test_suggest_with_tpe_stays_in_bounds() -> None:
    space = load_space("default")
    study = _quiet_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=1))
    for _ in range(15):
        trial = study.ask()
        config = space.suggest(trial)
        for name, value in config.items():
            assert PARAMETERS[name].problem(value) is None, (name, value)
        assert 0.0 <= config["synthetic_ratio"] <= 4.0
        assert (config["synthetic_ratio"] / 0.25).is_integer()
        if config["synthetic_ratio"] == 0.0:
            assert "alpha" not in trial.params
        else:
            assert 0.001 <= config["alpha"] <= 0.2
        study.tell(trial, config["synthetic_ratio"])
    assert len(study.trials) == 15


def test_suggest_with_fixed_trial() -> None:
    space = load_space("default")
    params = {
        "synthetic_ratio": 0.0,
        "learning_rate": 3e-4,
        "weight_decay": 1e-3,
        "epochs": 4,
    }
    config = space.suggest(optuna.trial.FixedTrial(params))
    assert config == {**default_config(), **params}


def test_load_space_from_yaml_file_uses_stem_as_name(tmp_path: Path) -> None:
    path = tmp_path / "mine.yml"
    path.write_text("params:\n  epochs: 2\n  alpha: {type: float, low: 0.01, high: 0.1}\n")
    space = load_space(path)
    assert space.name == "mine"
    assert space.sampled == ("alpha",)


def test_load_space_from_json_file(tmp_path: Path) -> None:
    path = tmp_path / "chained.json"
    path.write_text(json.dumps(CHAINED))
    assert load_space(str(path)) == SearchSpace.from_dict(CHAINED)


def test_load_space_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("params:\n  alpha: 2.0\n")
    with pytest.raises(SearchSpaceError) as info:
        load_space(path)
    assert str(path) in str(info.value) and "alpha=2.0" in str(info.value)


def test_unknown_shipped_space_suggests_closest() -> None:
    with pytest.raises(SearchSpaceError) as info:
        load_space("defualt")
    message = str(info.value)
    assert "Unknown search space 'defualt'" in message
    assert "Did you mean 'default'?" in message
    assert "default, demo, fast, paper, wide" in message


def test_space_file_with_unsupported_suffix() -> None:
    with pytest.raises(SearchSpaceError, match=r"suffix '\.toml'"):
        load_space("space.toml")


def test_missing_space_file(tmp_path: Path) -> None:
    missing = tmp_path / "none.yaml"
    with pytest.raises(SearchSpaceError, match="does not exist"):
        load_space(missing)


def test_invalid_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("params: {alpha: [0.1\n")
    with pytest.raises(SearchSpaceError, match="is not valid YAML") as info:
        load_space(path)
    assert "\n" not in str(info.value)


def test_invalid_json_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"params": ')
    with pytest.raises(SearchSpaceError, match="is not valid JSON"):
        load_space(path)


def test_load_yaml_reads_exponents_without_a_dot_as_floats() -> None:
    from search_spaces import load_yaml

    assert load_yaml("{a: 1e-6, b: -2E+3, c: .5e1, d: 1.0e-6, e: 3, f: 1e, g: e5}") == {
        "a": 1e-6, "b": -2000.0, "c": 5.0, "d": 1e-6, "e": 3, "f": "1e", "g": "e5",
    }  # fmt: skip
    import yaml

    assert yaml.safe_load("1e-6") == "1e-6"  # PyYAML's own loader is left as it was
    with pytest.raises(yaml.YAMLError, match="python/object"):  # safe: no Python objects
        load_yaml("!!python/object/apply:os.system ['true']")


def test_largest_is_the_most_a_parameter_can_take_in_the_space() -> None:
    def space(params: dict[str, Any]) -> SearchSpace:
        return SearchSpace.from_dict({"name": "s", "params": params})

    default_epochs = PARAMETERS["epochs"].default
    assert space({"epochs": {"type": "int", "low": 2, "high": 8}}).largest("epochs") == 8
    assert space({"epochs": 3}).largest("epochs") == 3
    assert (
        space({"epochs": {"type": "categorical", "choices": [2, 12, 4]}}).largest("epochs") == 12
    )
    assert space({}).largest("epochs") == default_epochs  # left out: the default
    # Set only under a condition: otherwise the default.
    conditional = {
        "synthetic_ratio": {"type": "float", "low": 0.0, "high": 1.0},
        "epochs": {"value": 1, "when": {"synthetic_ratio": {"gt": 0}}},
    }
    assert space(conditional).largest("epochs") == max(1, default_epochs)
    assert load_space("default").largest("learning_rate") == pytest.approx(1e-3)
    with pytest.raises(SearchSpaceError, match="Unknown parameter 'epoch'"):
        space({}).largest("epoch")
