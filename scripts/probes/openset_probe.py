"""Probe (issue 28): open-set rejection by the maximum probability, thresholds from the source only.

A target pixel whose top probability falls below the q-quantile of the source's validation pixels of
its predicted class (correctly predicted ones) is called ``other``. q is scored by leave-one-region-out
over the 6 cross-region pairs of canada, arkansas and france (no hidden target). Exploratory: it reads
the finished cells of ``runs/season-shift`` (configs/realdata/season_shift.yaml) and uses the
experiment floor's internals as of commit 8a4c698, where it ran:

    git checkout 8a4c698 && .venv/bin/python scripts/probes/openset_probe.py

Writes /tmp/probe/openset.csv and prints the selection table (docs/results.md, issue 28).
"""

from pathlib import Path

import numpy as np
import pandas as pd

from cropglobe import models, taxonomy
from cropglobe.cells.run_folder import RunFolder
from cropglobe.experiment import fitting
from cropglobe.experiment.data import prepare_study
from cropglobe.experiment.posthoc import load_saved, split_parts
from cropglobe.experiment.runner import FeatureCache, _evaluate, source_classes

run = RunFolder(Path("runs/season-shift"))
spec = run.load_spec()
spec = spec.model_copy(update={"seeds": [0]})
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
            model = load_saved(cell_dir, models.model_info(cell.model).family)
            def inp(idx):
                return fitting.cell_inputs(cell, cache, idx, prepared.window)  # noqa: B023 (used in this iteration only)
            pv = model.predict_proba(inp(parts["val"]))
            yv = cache.labels[parts["val"]]
            conf_v = pv.max(1)
            pred_v = pv.argmax(1)
            for t in prepared.targets:
                if prepared.overlaps(t, group):
                    continue
                idx = prepared.indices(t)
                p = model.predict_proba(inp(idx))
                sc = source_classes(prepared, spec, group)
                for q in [0.0, 0.02, 0.05, 0.1, 0.2, 0.3]:
                    pr = p.copy()
                    conf, pred = p.max(1), p.argmax(1)
                    rej = np.zeros(len(p), bool)
                    for c in np.unique(pred):
                        ok = (pred_v == c) & (yv == c)
                        thr = np.quantile(conf_v[ok], q) if ok.sum() > 5 and q > 0 else 0.0
                        rej |= (pred == c) & (conf < thr) & (c != OTHER)
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
                            f1=s.macro_f1 if hasattr(s, "macro_f1") else s["macro_f1"],
                            rej=rej.mean(),
                        )
                    )
            print(cell_dir.name, flush=True)
d = pd.DataFrame(rows)
Path("/tmp/probe").mkdir(exist_ok=True)
d.to_csv("/tmp/probe/openset.csv", index=False)
x = d[d.source.isin(regs) & d.target.isin(regs)]
print(x.groupby(["aug", "seed", "q"]).f1.mean().unstack("q").round(3))
print(x[x.seed == 0].pivot_table(index=["aug", "q"], columns=["source", "target"], values="f1").round(3))
