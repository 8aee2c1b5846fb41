"""Every validation error of a space definition, each naming the key, value and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from search_spaces import SearchSpace, SearchSpaceError


def _error(params: Any, **top: Any) -> str:
    data = {"name": "t", "params": params, **top}
    with pytest.raises(SearchSpaceError) as info:
        SearchSpace.from_dict(data)
    message = str(info.value)
    assert message.startswith("Search space 't'"), message
    assert "\n" not in message
    return message


def test_not_a_mapping() -> None:
    with pytest.raises(SearchSpaceError, match="must be a mapping.*but got a list"):
        SearchSpace.from_dict([1, 2])


def test_unknown_top_level_key() -> None:
    message = _error({}, parameters={})
    assert "'parameters'" in message
    assert "allowed keys: name, description, params" in message


def test_missing_params() -> None:
    with pytest.raises(SearchSpaceError, match="`params` is missing"):
        SearchSpace.from_dict({"name": "t"})


def test_params_not_a_mapping() -> None:
    assert "`params` must be a mapping" in _error(["alpha"])


def test_name_must_be_a_string() -> None:
    with pytest.raises(SearchSpaceError, match=r"`name` must be a non-empty string.*name=3"):
        SearchSpace.from_dict({"name": 3, "params": {}})


def test_description_must_be_a_string() -> None:
    assert "description=['x']" in _error({}, description=["x"])


def test_unknown_parameter_suggests_closest() -> None:
    message = _error({"lerning_rate": 1e-4})
    assert "'lerning_rate'" in message
    assert "Did you mean 'learning_rate'?" in message
    assert "Known parameters: synthetic_ratio, discovery" in message


def test_wrong_type_for_parameter_names_allowed_types() -> None:
    message = _error({"epochs": {"type": "float", "low": 1.0, "high": 4.0}})
    assert "`epochs.type` must be one of int, categorical" in message
    assert "type='float'" in message


def test_unknown_type() -> None:
    message = _error({"alpha": {"type": "gaussian", "low": 0.01, "high": 0.1}})
    assert "float, categorical" in message and "'gaussian'" in message


def test_categorical_type_for_categorical_parameter_only() -> None:
    message = _error({"discovery": {"type": "int", "low": 1, "high": 2}})
    assert "`discovery.type` must be one of categorical" in message


def test_entry_without_type_or_value() -> None:
    message = _error({"alpha": {"low": 0.01, "high": 0.1}})
    assert "needs a `type`" in message and "['high', 'low']" in message


def test_unknown_key_in_entry() -> None:
    message = _error({"alpha": {"type": "float", "low": 0.01, "high": 0.1, "lg": True}})
    assert "Unknown key 'lg' in `alpha`" in message
    assert "allowed keys: type, low, high, log, step, when" in message


def test_unknown_key_in_fixed_entry() -> None:
    message = _error({"alpha": {"value": 0.01, "type": "float"}})
    assert "Unknown key 'type' in `alpha` (type fixed); allowed keys: value, when" in message


def test_missing_bound() -> None:
    assert "`high` is missing" in _error({"alpha": {"type": "float", "low": 0.01}})


def test_low_not_below_high() -> None:
    message = _error({"alpha": {"type": "float", "low": 0.2, "high": 0.1}})
    assert "`alpha.low < alpha.high` must hold" in message
    assert "low=0.2, high=0.1" in message


def test_low_equal_to_high() -> None:
    message = _error({"epochs": {"type": "int", "low": 3, "high": 3}})
    assert "low=3, high=3" in message


def test_log_with_non_positive_low() -> None:
    message = _error({"weight_decay": {"type": "float", "low": 0.0, "high": 0.1, "log": True}})
    assert "`weight_decay.low > 0` must hold on a log scale" in message
    assert "low=0.0" in message


def test_log_with_negative_int_low() -> None:
    message = _error({"depth": {"type": "int", "low": -1, "high": 4, "log": True}})
    assert "`depth.low > 0`" in message and "low=-1" in message


def test_log_must_be_boolean() -> None:
    message = _error({"alpha": {"type": "float", "low": 0.01, "high": 0.1, "log": "yes"}})
    assert "`alpha.log` must be true or false" in message and "log='yes'" in message


def test_string_bound_gets_yaml_hint() -> None:
    message = _error({"learning_rate": {"type": "float", "low": "1e-6", "high": 1.0e-3}})
    assert "learning_rate.low='1e-6'" in message
    assert "write 1.0e-6" in message


def test_float_bound_for_int_parameter() -> None:
    message = _error({"epochs": {"type": "int", "low": 1.5, "high": 4}})
    assert "epochs.low=1.5" in message and "an int" in message


def test_bound_outside_registry_domain() -> None:
    message = _error({"alpha": {"type": "float", "low": 0.01, "high": 1.5}})
    assert "alpha.high=1.5" in message
    assert "a float in (0, 1)" in message


def test_bound_on_open_end_of_domain() -> None:
    message = _error({"alpha": {"type": "float", "low": 0.0, "high": 0.5}})
    assert "alpha.low=0.0" in message and "(0, 1)" in message


def test_int_bound_above_domain() -> None:
    message = _error({"n_dags": {"type": "int", "low": 1, "high": 512}})
    assert "n_dags.high=512" in message and "[1, 256]" in message


def test_fixed_value_outside_domain() -> None:
    message = _error({"n_bootstrap": 500})
    assert "n_bootstrap=500" in message and "an int in [1, 200]" in message


def test_fixed_value_of_wrong_type() -> None:
    message = _error({"epochs": "five"})
    assert "epochs='five'" in message and "str" in message


def test_fixed_value_must_be_plain() -> None:
    message = _error({"epochs": [1, 2]})
    assert "must be a plain value" in message and "epochs=[1, 2]" in message


def test_step_with_log() -> None:
    message = _error({"n_dags": {"type": "int", "low": 1, "high": 32, "log": True, "step": 2}})
    assert "cannot combine `step` and `log: true`" in message


def test_step_must_divide_range() -> None:
    message = _error({"synthetic_ratio": {"type": "float", "low": 0.0, "high": 1.0, "step": 0.3}})
    assert "must be a multiple of `synthetic_ratio.step`" in message and "step=0.3" in message


def test_step_must_be_positive() -> None:
    message = _error({"epochs": {"type": "int", "low": 1, "high": 5, "step": 0}})
    assert "`epochs.step` must be a positive int" in message and "step=0" in message


def test_choices_outside_allowed_set() -> None:
    message = _error({"discovery": {"type": "categorical", "choices": ["pc", "ges"]}})
    assert "discovery.choices='ges'" in message
    assert "one of pc, fci" in message


def test_numeric_choices_outside_domain() -> None:
    message = _error({"synthetic_ratio": {"type": "categorical", "choices": [1.0, 12.0]}})
    assert "synthetic_ratio.choices=12.0" in message and "[0, 10]" in message


def test_empty_choices() -> None:
    message = _error({"discovery": {"type": "categorical", "choices": []}})
    assert (
        "`discovery.choices` must be a non-empty list" in message and "one of pc, fci" in message
    )


def test_repeated_choices() -> None:
    message = _error({"synthetic_ratio": {"type": "categorical", "choices": [1, 1.0]}})
    assert "must not repeat a value" in message


def test_when_must_be_a_mapping() -> None:
    message = _error({"discovery": {"type": "categorical", "choices": ["pc"], "when": ["x"]}})
    assert "`discovery.when` must be a non-empty mapping" in message


def test_condition_on_unknown_parameter_suggests_closest() -> None:
    message = _error(
        {
            "synthetic_ratio": {"type": "float", "low": 0.0, "high": 2.0},
            "alpha": {
                "type": "float",
                "low": 0.01,
                "high": 0.1,
                "when": {"synthetic_ration": {"gt": 0}},
            },
        }
    )
    assert "'synthetic_ration' in `alpha.when`" in message
    assert "Did you mean 'synthetic_ratio'?" in message


def test_condition_on_parameter_not_in_space() -> None:
    message = _error(
        {"indep_test": {"type": "categorical", "choices": ["kci"], "when": {"discovery": ["pc"]}}}
    )
    assert "tests 'discovery', which this space does not declare" in message
    assert "default 'pc'" in message


def test_condition_on_later_parameter() -> None:
    message = _error(
        {
            "indep_test": {
                "type": "categorical",
                "choices": ["fisherz", "kci"],
                "when": {"discovery": ["pc"]},
            },
            "discovery": {"type": "categorical", "choices": ["pc", "fci"]},
        }
    )
    assert "`indep_test.when` tests 'discovery', which is declared after 'indep_test'" in message


def test_condition_cycle_of_two() -> None:
    message = _error(
        {
            "discovery": {
                "type": "categorical",
                "choices": ["pc", "fci"],
                "when": {"indep_test": ["fisherz"]},
            },
            "indep_test": {
                "type": "categorical",
                "choices": ["fisherz", "kci"],
                "when": {"discovery": ["pc"]},
            },
        }
    )
    assert "form a cycle" in message
    assert "discovery -> indep_test -> discovery" in message


def test_condition_on_itself_is_a_cycle() -> None:
    message = _error({"alpha": {"type": "float", "low": 0.01, "high": 0.1, "when": {"alpha": 1}}})
    assert "form a cycle" in message and "alpha -> alpha" in message


def test_numeric_comparison_on_categorical_parameter() -> None:
    message = _error(
        {
            "discovery": {"type": "categorical", "choices": ["pc", "fci"]},
            "alpha": {"type": "float", "low": 0.01, "high": 0.1, "when": {"discovery": {"gt": 0}}},
        }
    )
    assert "is a numeric comparison, but `discovery` is categorical (one of pc, fci)" in message


def test_condition_operand_outside_domain() -> None:
    message = _error(
        {
            "discovery": {"type": "categorical", "choices": ["pc", "fci"]},
            "indep_test": {
                "type": "categorical",
                "choices": ["fisherz"],
                "when": {"discovery": ["ges"]},
            },
        }
    )
    assert "tests for 'ges'" in message and "one of pc, fci" in message


def test_unknown_condition_operator() -> None:
    message = _error(
        {
            "synthetic_ratio": {"type": "float", "low": 0.0, "high": 2.0},
            "alpha": {
                "type": "float",
                "low": 0.01,
                "high": 0.1,
                "when": {"synthetic_ratio": {">": 0}},
            },
        }
    )
    assert "Unknown operator '>'" in message
    assert "allowed operators: eq, ne, in, not_in, gt, ge, lt, le" in message


def test_comparison_operand_must_be_a_number() -> None:
    message = _error(
        {
            "synthetic_ratio": {"type": "float", "low": 0.0, "high": 2.0},
            "alpha": {
                "type": "float",
                "low": 0.01,
                "high": 0.1,
                "when": {"synthetic_ratio": {"gt": "zero"}},
            },
        }
    )
    assert "operand must be a number" in message and "'zero'" in message
