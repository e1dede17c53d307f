"""``cropglobe demo``: the offline main job on simulated data, end to end."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

#: Marker file of a demo output folder: a folder holding it may be replaced part by part.
DEMO_MARKER = ".cropglobe-demo"
#: The demo specs shipped inside the package (``cropglobe/data/configs/demo``).
PACKAGED = ("demo", "tiny")


def packaged_config(name: str) -> Path:
    """Path of a demo spec shipped with the package (works from a wheel as well as a checkout)."""
    return Path(str(resources.files("cropglobe") / "data" / "configs" / "demo" / f"{name}.yaml"))


def resolve_config(config: str) -> Path:
    """A packaged spec name (``demo``, ``tiny``) or a path to an experiment YAML."""
    return packaged_config(config) if config in PACKAGED else Path(config)


def load_demo_spec(config: str, composite_path: Path, epochs: int | None) -> Any:  # ExperimentSpec
    """Read and validate the demo spec with its data pointed at the demo's composite (before any work).

    Raises:
        CropGlobeError: For an unreadable or invalid spec.
    """
    from cropglobe import experiment, yamlfile
    from cropglobe.errors import CropGlobeError

    path = resolve_config(config)
    try:
        raw = yamlfile.load(path, where=f"--config {path}")
    except OSError as err:
        raise CropGlobeError(f"--config {path}: cannot read the demo spec ({err.strerror}); expected an "
                             f"experiment YAML or one of {', '.join(PACKAGED)}") from None
    if not isinstance(raw, dict):
        raise CropGlobeError(f"--config {path}: expected a mapping at the top level")
    raw["data"] = {"path": str(composite_path)}
    raw["composite"] = None
    if epochs is not None:
        raw.setdefault("train", {})["epochs"] = epochs
    return experiment.parse_spec(raw, where=str(path))


#: What a demo folder holds (also one written before the marker file existed).
DEMO_ENTRIES = {"observations.zarr", "composite.zarr", "run", "map", DEMO_MARKER, ".cropglobe.lock"}


def is_demo_folder(path: Path) -> bool:
    """True for a previous ``cropglobe demo`` folder: its marker, or only demo outputs around a cropglobe store."""
    from cropglobe.atomic import is_cropglobe_zarr

    if not path.is_dir():
        return False
    if (path / DEMO_MARKER).is_file():
        return True
    names = {p.name for p in path.iterdir() if not p.name.startswith(".") or p.name in DEMO_ENTRIES}
    return names <= DEMO_ENTRIES and is_cropglobe_zarr(path / "observations.zarr")


def check_demo_folder(out: Path, overwrite: bool) -> None:
    """Refuse a non-empty ``--out`` that is not a previous demo folder (unless ``overwrite``)."""
    from cropglobe.atomic import check_replaceable

    check_replaceable(out, "cropglobe demo folder", is_demo_folder, overwrite, follow_links=True)
    if out.exists() and not out.is_dir():
        from cropglobe.errors import CropGlobeError

        raise CropGlobeError(f"--out {out}: is a file; the demo writes a folder there: choose another path")


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""

    @app.command("demo", epilog="Examples:\n\n  cropglobe demo --out demo-output\n\n"
                                "  cropglobe demo --config tiny -n 20 --epochs 2 --out /tmp/quick-demo")
    def demo_cmd(
        out: Annotated[
            Path, typer.Option("--out", "-o", help="Output folder (a new folder or a previous demo's).")
        ] = Path("demo-output"),
        samples_per_class: Annotated[int, typer.Option("--samples-per-class", "-n")] = 80,
        seed: Annotated[int, typer.Option()] = 0,
        config: Annotated[
            str, typer.Option(help="Experiment spec: 'demo' or 'tiny' (shipped with cropglobe) or a YAML path.")
        ] = "demo",
        epochs: Annotated[int | None, typer.Option(help="Override the spec's epochs.")] = None,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Use --out even if it holds other files.")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No cell lines or progress bars.")] = False,
        verbose: Annotated[
            bool, typer.Option("--verbose", "-v", help="Also Lightning's messages and cropglobe's log.")
        ] = False,
    ) -> None:
        """Offline demo (SIMULATED DATA): simulate 8 countries, composite, train on FRA, evaluate, report, map."""
        from rich.console import Console

        from cropglobe import experiment, samples, summary, verbosity
        from cropglobe.atomic import atomic_path
        from cropglobe.cli.transfer import print_results
        from cropglobe.experiment.lock import run_lock
        from cropglobe.sources import simulate
        from cropglobe.temporal import composite
        from cropglobe.temporal.settings import CompositeSettings

        verbosity.configure(quiet, verbose)
        spec = load_demo_spec(config, out / "composite.zarr", epochs)  # a bad spec fails before any work
        check_demo_folder(out, overwrite)
        out.mkdir(parents=True, exist_ok=True)
        (out / DEMO_MARKER).write_text("written by cropglobe demo\n", encoding="utf-8")
        console = Console()
        t0 = time.perf_counter()
        console.rule("1/5 simulate (SIMULATED DATA)")
        obs = simulate.simulate(samples_per_class=samples_per_class, seed=seed)
        samples.save(obs, out / "observations.zarr", overwrite=overwrite)
        summary.render(summary.summarize(obs), title=f"{out / 'observations.zarr'} (simulated)")
        console.rule("2/5 composite: 5-day medians, gaps filled, May-Nov window, hemispheres aligned")
        comp = composite.composite(obs, CompositeSettings(interval=5, window="05-01:11-30", align="hemisphere"))
        samples.save(comp, out / "composite.zarr", overwrite=overwrite)
        console.print(f"{comp.sizes['sample']} samples x {comp.sizes['band']} bands x {comp.sizes['time']} bins; "
                      f"dropped {comp.attrs.get('dropped_samples', 0)} with too few clear observations")
        console.rule("3/5 train on FRA, evaluate on the other 7 countries")
        run_dir = out / "run"
        with run_lock(out), atomic_path(run_dir) as tmp_run:  # the previous run stays until this one is complete
            results = experiment.run(spec, tmp_run, progress=not quiet, report_cell=None if quiet else console.print)
        console.rule("4/5 report")
        print_results(results, run_dir, simulated=True)
        console.rule("5/5 map a simulated BEL region without labels (SIMULATED DATA)")
        from cropglobe.mapping import demo_map

        mapped = demo_map(run_dir, out / "map")
        console.print(f"map: {mapped['map']}  quick-look: {mapped['png']}  areas: {mapped['areas']}")
        console.print(f"best cell on BEL: {Path(str(mapped['cell'])).name}; agreement with the simulated truth "
                      f"on clear pixels: {mapped['accuracy']:.3f}")
        console.print(f"demo finished in {time.perf_counter() - t0:.0f} s")
