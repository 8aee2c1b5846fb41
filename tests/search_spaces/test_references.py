from __future__ import annotations

import pytest

from search_spaces import (
    REFERENCE_NAMES,
    SearchSpace,
    default_config,
    load_space,
    reference_configs,
    reference_params,
)


def test_the_references_are_default_fine_tuning_and_the_paper_configuration() -> None:
    configs = reference_configs()
    assert tuple(configs) == REFERENCE_NAMES == ("default_ft", "causalmixft")
    assert configs["default_ft"] == {**default_config(), "synthetic_ratio": 0.0}
    assert configs["causalmixft"] == load_space("paper").fixed_config()
    assert configs["causalmixft"]["synthetic_ratio"] == 1.0


@pytest.mark.parametrize("space_name", ["default", "fast", "wide"])
@pytest.mark.parametrize("reference", REFERENCE_NAMES)
def test_a_trial_fixed_to_the_params_yields_the_reference(space_name: str, reference: str) -> None:
    from optuna.trial import FixedTrial

    space = load_space(space_name)
    config = reference_configs()[reference]
    params, notes = reference_params(space, config)
    assert notes == []
    assert set(params) <= set(space.sampled)
    suggested = space.suggest(FixedTrial(params))
    for name in params:  # every sampled, active parameter takes the reference's value
        assert suggested[name] == config[name], name


def test_values_outside_the_space_move_to_the_nearest_allowed_one() -> None:
    space = SearchSpace.from_dict(
        {
            "name": "narrow",
            "params": {
                "synthetic_ratio": {"type": "categorical", "choices": [0.0, 0.5, 2.0]},
                "learning_rate": {"type": "float", "low": 1.0e-3, "high": 1.0e-2, "log": True},
                "epochs": {"type": "int", "low": 2, "high": 3},
                "mechanism_quality": {
                    "type": "categorical",
                    "choices": ["good", "better"],
                    "when": {"synthetic_ratio": {"gt": 0}},
                },
            },
        }
    )
    params, notes = reference_params(space, reference_configs()["causalmixft"])
    assert params == {
        "synthetic_ratio": 0.5,
        "learning_rate": 1.0e-3,
        "epochs": 3,
        "mechanism_quality": "good",
    }
    assert len(notes) == 4 and any("learning_rate=0.0001" in n for n in notes)
    params, _ = reference_params(space, reference_configs()["default_ft"])
    assert "mechanism_quality" not in params  # inactive without augmentation


def test_a_space_that_samples_nothing_has_no_reference_params() -> None:
    assert reference_params(load_space("paper"), reference_configs()["default_ft"]) == ({}, [])
