from __future__ import annotations

import numpy as np
import pandas as pd

from causalmix._codec import CONSTANT, CONTINUOUS, DISCRETE, TableCodec


def _mixed(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "amount": rng.normal(100, 20, n),
            "count": rng.integers(0, 500, n),
            "level": rng.integers(1, 4, n),
            "flag": rng.random(n) < 0.3,
            "colour": pd.Series(rng.choice(["red", "green", "blue"], n), dtype="str"),
            "grade": pd.Categorical(rng.choice(["a", "b"], n), categories=["a", "b", "never"]),
            "same": np.full(n, 7),
        }
    )
    X.loc[rng.random(n) < 0.2, "amount"] = np.nan
    X.loc[rng.random(n) < 0.1, "colour"] = np.nan
    y = pd.Series(rng.choice([3, 5, 9], n), name="label")
    return X, y


def test_column_kinds() -> None:
    X, y = _mixed()
    codec = TableCodec(X, y, "label", seed=0)
    kinds = {spec.node: spec.kind for spec in codec.features}
    assert kinds == {
        "amount": CONTINUOUS,
        "count": CONTINUOUS,
        "level": DISCRETE,
        "flag": DISCRETE,
        "colour": DISCRETE,
        "grade": DISCRETE,
        "same": CONSTANT,
    }
    assert codec.nodes == ["amount", "count", "level", "flag", "colour", "grade", "label"]
    assert codec.target.categories == (3, 5, 9)
    assert not np.isnan(codec.matrix).any()


def test_decoding_the_model_frame_restores_values_and_dtypes() -> None:
    X, y = _mixed()
    codec = TableCodec(X, y, "label", seed=0)
    # No missing values re-inserted: compare every cell that was observed.
    no_gaps = TableCodec(X.fillna({"amount": 1.0, "colour": "red"}), y, "label", seed=0)
    X_back, y_back = no_gaps.decode(no_gaps.frame, np.random.default_rng(0))
    assert list(X_back.columns) == list(X.columns)
    assert (X_back.dtypes == X.dtypes).all()
    assert X_back["grade"].cat.categories.tolist() == ["a", "b", "never"]
    observed = X["amount"].notna()
    np.testing.assert_allclose(X_back.loc[observed, "amount"], X.loc[observed, "amount"])
    for column in ["count", "level", "flag", "grade", "same"]:
        assert X_back[column].tolist() == X[column].tolist()
    assert y_back.tolist() == y.tolist() and y_back.name == "label"
    X_gappy, _ = codec.decode(codec.frame, np.random.default_rng(0))
    assert X_gappy["amount"].isna().any() and X_gappy["colour"].isna().any()


def test_continuous_values_are_clipped_and_rounded() -> None:
    X, y = _mixed()
    codec = TableCodec(X, y, "label", seed=0)
    frame = codec.frame.copy()
    frame["amount"] = 50.0  # 50 standard deviations away
    frame["count"] = -50.0
    X_back, _ = codec.decode(frame, np.random.default_rng(0))
    assert X_back["amount"].max() == X["amount"].max()
    assert X_back["count"].min() == X["count"].min()
    assert X_back["count"].dtype == X["count"].dtype


def test_hot_deck_imputation_draws_observed_values_of_the_same_class() -> None:
    X, y = _mixed(n=200)
    codec = TableCodec(X, y, "label", seed=0)
    amount = codec.matrix[:, codec.nodes.index("amount")]
    spec = codec.features[0]
    restored = amount * spec.scale + spec.mean
    missing = X["amount"].isna().to_numpy()
    for label in (3, 5, 9):
        donors = set(np.round(X.loc[(y == label) & ~X["amount"].isna(), "amount"], 9))
        filled = set(np.round(restored[missing & (y == label).to_numpy()], 9))
        assert filled <= donors


def test_chisq_view_bins_continuous_columns_only() -> None:
    X, y = _mixed(n=200)
    codec = TableCodec(X, y, "label", seed=0)
    binned = codec.discovery_matrix("chisq")
    assert len(np.unique(binned[:, codec.nodes.index("amount")])) <= 5
    np.testing.assert_array_equal(binned[:, codec.discrete], codec.matrix[:, codec.discrete])
    assert codec.discovery_matrix("fisherz") is codec.matrix
