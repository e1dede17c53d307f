"""Probe (issue 28): open-set rejection by the Mahalanobis distance of penultimate features.

Lee, Lee, Lee & Shin 2018, "A simple unified framework for detecting out-of-distribution samples and
adversarial attacks" (NeurIPS): class means and a tied covariance of the features entering the last
linear layer, fitted on the source's training split; a target pixel farther from every class mean
than the (1 - q)-quantile of the source's validation pixels is called ``other``. q is scored by
leave-one-region-out over the 6 cross-region pairs of canada, arkansas and france. Exploratory: it
reads the finished seed-0 cells of ``runs/season-shift`` and uses the experiment floor's internals as
of commit 8a4c698, where it ran:

    git checkout 8a4c698 && .venv/bin/python scripts/probes/maha_probe.py

Writes /tmp/probe/maha.csv and prints the selection and rejection-rate tables (docs/results.md).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cropglobe import taxonomy
from cropglobe.cells.run_folder import RunFolder
from cropglobe.experiment import fitting
from cropglobe.experiment.data import prepare_study
from cropglobe.experiment.posthoc import load_saved, split_parts
from cropglobe.experiment.runner import FeatureCache, _evaluate, source_classes


def feats(net, x):
    last = [m for m in net.modules() if isinstance(m, torch.nn.Linear)][-1]
    out = []
    h = last.register_forward_hook(lambda m, i, o: out.append(i[0].detach().float().numpy()))
    net.eval()
    with torch.no_grad():
        for s in range(0, len(x), 2048):
            net(torch.as_tensor(x[s : s + 2048], dtype=torch.float32))
    h.remove()
    return np.concatenate(out)


run = RunFolder(Path("runs/season-shift"))
spec = run.load_spec().model_copy(update={"seeds": [0]})
prepared = prepare_study(spec)
cache = FeatureCache(prepared, spec.feature_options)
index = {s: i for i, s in enumerate(prepared.full["sample_id"].values.astype(str))}
OTHER = taxonomy.CLASSES.index("other")
rows = []
regs = ["canada", "arkansas", "france"]
for group in prepared.sources:
    for cell in spec.cell_list():
        for seed in [0]:
            cell_dir = run.cell_dir(group, cell, seed, "")
            if not run.result_path(cell_dir).exists():
                continue
            parts = split_parts(Path("runs/season-shift"), group, seed, "", index)
            model = load_saved(cell_dir, "torch")
            net = model.net
            def inp(idx):
                return fitting.cell_inputs(cell, cache, idx, prepared.window)  # noqa: B023 (used in this iteration only)
            ftr, ytr = feats(net, inp(parts["train"])), cache.labels[parts["train"]]
            cls = np.unique(ytr)
            mu = np.stack([ftr[ytr == c].mean(0) for c in cls])
            cen = ftr - mu[np.searchsorted(cls, ytr)]
            cov = np.cov(cen.T) + 1e-3 * np.eye(ftr.shape[1])
            P = np.linalg.inv(cov)

            def score(f):
                d = np.stack([np.einsum("ij,jk,ik->i", f - m, P, f - m) for m in mu], 1)  # noqa: B023 (used in this iteration only)
                return d.min(1)

            sv = score(feats(net, inp(parts["val"])))
            for t in prepared.targets:
                if prepared.overlaps(t, group):
                    continue
                idx = prepared.indices(t)
                x = inp(idx)
                p = model.predict_proba(x)
                st = score(feats(net, x))
                sc = source_classes(prepared, spec, group)
                for q in [0.0, 0.01, 0.05, 0.1, 0.2]:
                    thr = np.quantile(sv, 1 - q) if q > 0 else np.inf
                    rej = st > thr
                    pr = p.copy()
                    pr[rej] = 0
                    pr[rej, OTHER] = 1
                    s = _evaluate(prepared, t, idx, pr, sc)
                    rows.append(
                        dict(
                            source="+".join(group),
                            target=t,
                            aug=cell.augmentation or "none",
                            seed=seed,
                            q=q,
                            f1=s.macro_f1,
                            rej=rej.mean(),
                        )
                    )
            print(cell_dir.name, flush=True)
d = pd.DataFrame(rows)
Path("/tmp/probe").mkdir(exist_ok=True)
d.to_csv("/tmp/probe/maha.csv", index=False)
x = d[d.source.isin(regs) & d.target.isin(regs)]
print(x.groupby(["aug", "seed", "q"]).f1.mean().unstack("q").round(3))
print(x[x.seed == 0].pivot_table(index=["aug", "q"], columns=["source", "target"], values="f1").round(3))
print(x[x.seed == 0].pivot_table(index=["aug", "q"], columns=["source", "target"], values="rej").round(3))
