"""Belgian openEO cube (real, no labels): teacher ensemble map vs map --fast student; student thread-time px/s.

Run from the checkout: PYTHONPATH=src python scripts/fast_path_belgium.py [--student tempcnn] [--run R --cell C]
[--defer 0.02,0.05]
(writes runs/fast/; files of a student other than the default tempcnn, or of another teacher than the default,
carry their names). The teacher is every finished seed of canada__CELL in RUN (default:
canada__median2d__tempcnn__season-wide in /work/main/runs/season-shift; the anchored teacher recommended since
2026-12-07: --run /work/main/runs/ss-anchor --cell median2d__tempcnn-anchored__season-wide). ``--defer``: the
student also maps the cube as the cascade of ``map --fast --defer MARGIN`` for each margin given (the teacher
classifies the pixels on which the student's top class leads by less), scored against the teacher's map.
"""

import argparse
import json
import os
import time

import numpy as np
import rasterio
import torch

from cropglobe.cells.cell import load_cells, load_recipe
from cropglobe.mapping import MapOptions, make_map
from cropglobe.mapping.fastmap import make_fast_map
from cropglobe.mapping.student import DEFAULT_STUDENT, PRESETS, inputs, preset
from cropglobe.training.lightning import predict_proba_torch

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--student", default=DEFAULT_STUDENT, choices=tuple(PRESETS), help="the map --fast student preset")
ap.add_argument("--run", default="/work/main/runs/season-shift", help="the teacher's transfer run")
ap.add_argument("--cell", default="median2d__tempcnn__season-wide", help="the teacher's cell (canada source)")
ap.add_argument("--defer", default="", help="comma-separated cascade margins to map with the kept student")
args = ap.parse_args()
name = args.student
tag = ("" if name == DEFAULT_STUDENT else f"_{name}") + \
    ("" if args.cell == "median2d__tempcnn__season-wide" else f"_{args.cell.split('__')[1]}")

cube = "/work/shared/data/worldcereal_cubes/worldcereal_preprocessed_inputs.nc"
cells = [f"{args.run}/cells/canada__{args.cell}__s{s}" for s in (0, 1, 2)]
cells = [c for c in cells if os.path.exists(c + "/result.json")]
out = {"cube": cube, "teacher": cells, "student": name, "load_before": os.getloadavg()[0]}
t = make_map(cells[0], cube, f"runs/fast/bel_teacher{tag}.tif", MapOptions(members=tuple(cells[1:]), overwrite=True))
out["teacher_map_s"] = round(t.seconds, 1)
out["teacher_px_s"] = round(t.pixels_per_second)
f = make_fast_map(
    cells[0],
    cube,
    f"runs/fast/bel_fast{tag}.tif",
    MapOptions(members=tuple(cells[1:]), overwrite=True),
    preset(name),
    keep_student=f"runs/fast/bel_student{tag}",
)
out.update(
    distil_s=round(f.distil_seconds, 1),
    student_map_s=round(f.map.seconds, 1),
    student_px_s=round(f.map.pixels_per_second),
    teacher_tag=f.teacher,
)
a = rasterio.open(f"runs/fast/bel_teacher{tag}.tif").read(1)
b = rasterio.open(f"runs/fast/bel_fast{tag}.tif").read(1)
m = a != 255
out.update(
    mapped=int(m.sum()),
    nodata_equal=bool(((a == 255) == (b == 255)).all()),
    agreement=float((a[m] == b[m]).mean()),
    teacher_shares={int(k): round(float((a[m] == k).mean()), 3) for k in np.unique(a[m])},
    student_shares={int(k): round(float((b[m] == k).mean()), 3) for k in np.unique(b[m])},
)
cascades = []
for margin in [float(v) for v in args.defer.split(",") if v]:
    c = make_map(f"runs/fast/bel_student{tag}", cube, f"runs/fast/bel_cascade{tag}_{margin}.tif",
                 MapOptions(defer_to=tuple(cells), defer_margin=margin, overwrite=True))
    got = rasterio.open(c.paths["classes"]).read(1)
    cascades.append({"margin": margin, "deferred_share": round(c.deferred_pixels / int(m.sum()), 4),
                     "agreement": float((a[m] == got[m]).mean()), "map_s": round(c.seconds, 1),
                     "px_s": round(c.pixels_per_second), "nodata_equal": bool(((a == 255) == (got == 255)).all())})
out["cascade"] = cascades
# bare inference on one thread, thread CPU time (insensitive to other processes' load)
torch.set_num_threads(1)
r = load_recipe(f"runs/fast/bel_student{tag}")
s_model = r.load_model()
t_model = load_cells(cells).load_model()
x = np.random.default_rng(0).random((100_000, 9, 31), dtype=np.float32) * 0.4


def cpu(fn):
    best = 1e9
    for _ in range(3):
        t0 = time.thread_time()
        fn()
        best = min(best, time.thread_time() - t0)
    return best


out["student_bare_px_per_thread_cpu_s"] = round(
    len(x) / cpu(lambda: predict_proba_torch(s_model, inputs(x, preset(name).kind), batch_size=8192))
)
xs = x[:10_000]
out["teacher_bare_px_per_thread_cpu_s"] = round(
    len(xs) / cpu(lambda: predict_proba_torch(t_model, xs, batch_size=2048))
)
out["load_after"] = os.getloadavg()[0]
print(json.dumps(out, indent=1))
json.dump(out, open(f"runs/fast/belgium{tag}.json", "w"), indent=1)
