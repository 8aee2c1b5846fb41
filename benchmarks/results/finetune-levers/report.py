"""Paired quality of the cheaper recipes: each arm's default_ft minus the default recipe's."""

import pathlib

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

ROOT = pathlib.Path(__file__).parent  # one folder per arm, each with its results.csv
KEY = ["dataset", "fold"]


def _methods(arm: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(ROOT / arm / "results.csv")
    zero = frame[frame.method == "zero_shot"].set_index(KEY)
    return zero, frame[frame.method == "default_ft"].set_index(KEY)


base_zero, base = _methods("base")
for arm in ("ep2", "ctx256", "ep2-ctx256"):
    zero, tuned = _methods(arm)
    common = base.index.intersection(tuned.index)
    same = np.allclose(zero.loc[common, "test_roc_auc"], base_zero.loc[common, "test_roc_auc"])
    diff = tuned.loc[common, "normalized_roc_auc"] - base.loc[common, "normalized_roc_auc"]
    per = diff.groupby(level=0).mean()
    p = wilcoxon(per, zero_method="pratt").pvalue if (per != 0).any() else 1.0
    seconds = tuned.loc[common, "finetune_seconds"].sum()
    ratio = seconds / base.loc[common, "finetune_seconds"].sum()
    print(
        f"{arm}: pairs {len(common)} zero-shot identical {same}; per dataset "
        f"{per.round(3).to_dict()}; median {per.median():+.3f} pp, W/T/L "
        f"{(per > 0).sum()}/{(per == 0).sum()}/{(per < 0).sum()}, p={p:.3f}; fine-tune seconds "
        f"ratio {ratio:.2f}; base median norm "
        f"{base.loc[common, 'normalized_roc_auc'].median():.3f}, arm "
        f"{tuned.loc[common, 'normalized_roc_auc'].median():.3f}"
    )
