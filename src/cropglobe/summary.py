"""A SampleSet at a glance: counts per country x class, bands, time axis and missing fraction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from cropglobe import legend

SIMULATED_BANNER = "SIMULATED DATA (cropglobe phenology simulator) - not real observations"


@dataclass
class Summary:
    """What ``cropglobe data info`` shows about a SampleSet."""

    counts: pd.DataFrame
    bands: list[str]
    time_kind: str
    n_time: int
    time_range: tuple[str, str]
    median_step_days: float
    missing_fraction: float
    attrs: dict

    @property
    def simulated(self) -> bool:
        """True when the data came from the simulator."""
        return bool(self.attrs.get("simulated"))


def summarize(ds: xr.Dataset) -> Summary:
    """Compute the :class:`Summary` of a SampleSet."""
    counts = pd.crosstab(
        pd.Series(ds["country"].values.astype(str), name="country"),
        pd.Series(ds["label"].values.astype(str), name="label"),
    )
    counts = counts.reindex(columns=[c for c in legend.of(ds.attrs) if c in counts.columns])  # the set's legend
    counts.loc["total"] = counts.sum()
    counts["total"] = counts.sum(axis=1)
    t = ds["time"].values
    if np.issubdtype(t.dtype, np.datetime64):
        days = np.diff(t).astype("timedelta64[D]").astype(float) if t.size > 1 else np.array([0.0])
        rng = (str(t[0])[:10], str(t[-1])[:10])
    else:
        days = np.diff(t).astype(float) if t.size > 1 else np.array([0.0])
        rng = (f"day {int(t[0])}", f"day {int(t[-1])}")
    missing = float(np.isnan(ds["reflectance"].values).mean())
    return Summary(counts, [str(b) for b in ds["band"].values], str(ds.attrs.get("time_kind")),
                   int(t.size), rng, float(np.median(days)), missing, dict(ds.attrs))


def render(summary: Summary, title: str = "SampleSet") -> None:
    """Print a summary to the terminal with rich tables."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if summary.simulated:
        console.print(f"[bold yellow]{SIMULATED_BANNER}[/]")
    table = Table(title=f"{title}: samples per country x class")
    table.add_column("country")
    for col in summary.counts.columns:
        table.add_column(str(col), justify="right")
    for idx, row in summary.counts.iterrows():
        table.add_row(str(idx), *(str(int(v)) for v in row.values), style="bold" if idx == "total" else None)
    console.print(table)
    a = summary.attrs
    console.print(f"bands ({len(summary.bands)}): {', '.join(summary.bands)}")
    console.print(f"sensor: {a.get('sensor')} {a.get('processing_level')}  scale applied: {a.get('scale')}")
    console.print(
        f"time axis: {summary.time_kind}, {summary.n_time} steps, {summary.time_range[0]} .. "
        f"{summary.time_range[1]}, median step {summary.median_step_days:g} days"
    )
    if a.get("season_window"):
        console.print(f"season window: {a.get('season_window')}  alignment: {a.get('alignment')}")
    console.print(f"missing values: {summary.missing_fraction:.1%}")
    original = a.get("original_label_counts")
    if isinstance(original, dict) and original:
        top = list(original.items())[:12]
        more = f" (+{len(original) - len(top)} more)" if len(original) > len(top) else ""
        console.print("labels before mapping: " + ", ".join(f"{k}: {v}" for k, v in top) + more)
    if a.get("source"):
        console.print(f"source: {a.get('source')}")
