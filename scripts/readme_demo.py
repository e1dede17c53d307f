"""Regenerate the README's demo table (and map) from the output of ``cropglobe demo`` (issue 27).

    python scripts/readme_demo.py                      # runs `cropglobe demo` in a temporary folder first
    python scripts/readme_demo.py demo-output          # from a finished demo folder
    python scripts/readme_demo.py demo-output --check  # exit 1 when the README differs from that demo

The table sits between the two ``demo-table`` comment lines of README.md; everything between them is
replaced. The demo's own results are saved as ``docs/demo_results.csv`` (the rows of its
``results.parquet`` that the table is made from), so tests/docs/test_readme_demo.py can check the
README against them without training; ``--map`` also copies the demo's map PNG to
``docs/demo_map.png``. The data are SIMULATED.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
RESULTS_CSV = REPO / "docs" / "demo_results.csv"
MAP_PNG = REPO / "docs" / "demo_map.png"
BEGIN = "<!-- demo-table: written by scripts/readme_demo.py from docs/demo_results.csv; do not edit by hand -->"
END = "<!-- demo-table: end -->"
#: Columns of results.parquet left out of docs/demo_results.csv: they differ from run to run (paths, timings).
VOLATILE = ["data", "train_seconds"]
FEATURES = {"median2d": "2D median", "median1d": "1D median", "harmonic": "harmonic"}
MODELS = {"cropnet": "CropNet", "cropnet-lite": "CropNet-lite", "tempcnn": "TempCNN", "rf": "random forest",
          "lightgbm": "LightGBM", "mlp": "MLP"}


def column_title(cell: str) -> str:
    """``median2d / cropnet +aug:paper`` -> ``2D median / CropNet + paper augmentation``."""
    name, _, aug = cell.partition(" +aug:")
    feature, _, model = name.partition(" / ")
    title = f"{FEATURES.get(feature, feature)} / {MODELS.get(model, model)}"
    return title + (f" + {aug} augmentation" if aug else "")


def load_results(path: Path) -> pd.DataFrame:
    """The demo's results: a demo folder, a run folder, its results.parquet, or a saved CSV."""
    if path.is_dir():
        path = next(p for p in (path / "run" / "results.parquet", path / "results.parquet") if p.exists())
    table = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    if "adaptation" in table:
        table = table[table["adaptation"].fillna("none") == "none"]
    return table.drop(columns=[c for c in VOLATILE if c in table]).reset_index(drop=True)


def render(results: pd.DataFrame) -> str:
    """The README block: a sentence on what the numbers are, then the Markdown table (one row per target)."""
    from cropglobe.experiment import degenerate, report

    summary = report.summary_table(results)
    cells = list(dict.fromkeys(summary["cell"]))
    seeds = int(summary["seeds"].max())
    sources = ", ".join(sorted(set(summary["source"])))
    over = f"{seeds} seed" + ("s" if seeds > 1 else "")
    lines = [f"Macro-F1 (OA) of models trained on simulated {sources}, per target (mean over {over}; "
             f"{degenerate.MARK} = a cell that did not learn).", "",
             "| source → target | scenario | " + " | ".join(column_title(c) for c in cells) + " |",
             "|---|---|" + "---|" * len(cells)]
    for pair, scenario, values in report.summary_rows(summary, cells):
        lines.append(f"| {pair} | {scenario} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    """``text`` with everything between the demo-table markers replaced by ``block``."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise SystemExit(f"README: expected one '{BEGIN}' line before one '{END}' line")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{block}\n{END}{tail}"


def current_block(text: str) -> str:
    """What the README holds between the markers."""
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")


def run_demo(out: Path) -> None:
    """Run ``cropglobe demo --out out`` with this interpreter (the checkout's sources first)."""
    cmd = [sys.executable, "-c", "from cropglobe.cli import main; main()", "demo", "--out", str(out), "--quiet"]
    subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("demo", nargs="?", type=Path,
                        help="a finished `cropglobe demo --out` folder (default: run one)")
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md differs; write nothing")
    parser.add_argument("--map", action="store_true", help="also copy the demo's map PNG to docs/demo_map.png")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        demo = args.demo
        if demo is None:
            demo = Path(tmp) / "demo"
            run_demo(demo)
        results = load_results(demo)
        text = args.readme.read_text(encoding="utf-8")
        block = render(results)
        if args.check:
            if current_block(text) != block:
                print(f"README.md differs from the demo in {demo}:\n{block}", file=sys.stderr)
                return 1
            print("README.md matches the demo")
            return 0
        args.readme.write_text(replace_block(text, block), encoding="utf-8")
        results.to_csv(RESULTS_CSV, index=False, float_format="%.6f")
        if args.map:
            shutil.copyfile(demo / "map" / "map.png", MAP_PNG)
        print(f"wrote {args.readme} and {RESULTS_CSV}" + (f" and {MAP_PNG}" if args.map else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
