"""``cropglobe demo``: the offline main job on simulated data, end to end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

DEMO_CONFIG = Path(__file__).resolve().parents[3] / "configs" / "demo" / "demo.yaml"


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""

    @app.command("demo")
    def demo_cmd(
        out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("demo-output"),
        samples_per_class: Annotated[int, typer.Option("--samples-per-class", "-n")] = 80,
        seed: Annotated[int, typer.Option()] = 0,
        config: Annotated[Path, typer.Option(help="Demo experiment spec.")] = DEMO_CONFIG,
        epochs: Annotated[int | None, typer.Option(help="Override the spec's epochs.")] = None,
    ) -> None:
        """Offline demo (SIMULATED DATA): simulate 8 countries, composite, train on FRA, evaluate, report, map."""
        import shutil

        import yaml
        from rich.console import Console

        from cropglobe import composite, experiment, samples, simulate, summary
        from cropglobe.cli.transfer import print_results

        console = Console()
        t0 = time.perf_counter()
        console.rule("1/5 simulate (SIMULATED DATA)")
        obs = simulate.simulate(samples_per_class=samples_per_class, seed=seed)
        samples.save(obs, out / "observations.zarr")
        summary.render(summary.summarize(obs), title=f"{out / 'observations.zarr'} (simulated)")
        console.rule("2/5 composite: 5-day medians, gaps filled, May-Nov window, hemispheres aligned")
        comp = composite.composite(obs, interval=5, window="05-01:11-30", align="hemisphere")
        samples.save(comp, out / "composite.zarr")
        console.print(f"{comp.sizes['sample']} samples x {comp.sizes['band']} bands x {comp.sizes['time']} bins; "
                      f"dropped {comp.attrs.get('dropped_samples', 0)} with too few clear observations")
        console.rule("3/5 train on FRA, evaluate on the other 7 countries")
        raw = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
        raw["data"] = {"path": str(out / "composite.zarr")}
        if epochs is not None:
            raw["train"]["epochs"] = epochs
        spec = experiment.parse_spec(raw, where=str(config))
        run_dir = out / "run"
        if run_dir.exists():
            shutil.rmtree(run_dir)
        results = experiment.run(spec, run_dir, progress=False)
        console.rule("4/5 report")
        print_results(results, run_dir, simulated=True)
        console.rule("5/5 map a simulated BEL region without labels (SIMULATED DATA)")
        from cropglobe.mapping import demo_map

        mapped = demo_map(run_dir, out / "map")
        console.print(f"map: {mapped['map']}  quick-look: {mapped['png']}  areas: {mapped['areas']}")
        console.print(f"best cell on BEL: {Path(str(mapped['cell'])).name}; agreement with the simulated truth "
                      f"on clear pixels: {mapped['accuracy']:.3f}")
        console.print(f"demo finished in {time.perf_counter() - t0:.0f} s")
