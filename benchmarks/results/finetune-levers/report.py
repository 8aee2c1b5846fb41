"""Paired quality of the cheaper recipes: default_ft of each arm minus the default recipe's, per (dataset, fold)."""
import sys, pandas as pd, numpy as np
from scipy.stats import wilcoxon
import pathlib

root = pathlib.Path(__file__).parent  # one folder per arm, each with its results.csv
arms = [a for a in ["base", "ep2", "ctx256", "ep2-ctx256"]]
frames = {}
for a in arms:
    try: frames[a] = pd.read_csv(f"{root}/{a}/results.csv")
    except FileNotFoundError: pass
b = frames["base"]
key = ["dataset", "fold"]
bz = b[b.method == "zero_shot"].set_index(key)
bd = b[b.method == "default_ft"].set_index(key)
for a, f in frames.items():
    if a == "base": continue
    z = f[f.method == "zero_shot"].set_index(key); d = f[f.method == "default_ft"].set_index(key)
    common = bd.index.intersection(d.index)
    same_zs = np.allclose(z.loc[common, "test_roc_auc"], bz.loc[common, "test_roc_auc"])
    diff = (d.loc[common, "normalized_roc_auc"] - bd.loc[common, "normalized_roc_auc"])
    per_ds = diff.groupby(level=0).mean()
    p = wilcoxon(per_ds, zero_method="pratt").pvalue if (per_ds != 0).any() else 1.0
    ft = d.loc[common, "finetune_seconds"].sum() / bd.loc[common, "finetune_seconds"].sum()
    print(f"{a}: pairs {len(common)} zero-shot identical {same_zs}; per dataset {per_ds.round(3).to_dict()}; median {per_ds.median():+.3f} pp, W/T/L {(per_ds>0).sum()}/{(per_ds==0).sum()}/{(per_ds<0).sum()}, p={p:.3f}; fine-tune seconds ratio {ft:.2f}; base median norm {bd.loc[common,'normalized_roc_auc'].median():.3f}, arm {d.loc[common,'normalized_roc_auc'].median():.3f}")
