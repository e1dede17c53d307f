"""Benchmark harness: discover ``benchmarks/bench_*.py`` and print one JSON object per benchmark.

A benchmark module defines ``NAME`` (str), ``DESCRIPTION`` (one line) and
``run(quick: bool = False) -> dict`` returning ``{"ratio": float | None, "reference": str,
"figures": dict}`` and, when ``ratio`` is ``None``, ``"not_measured"``: why (the machine was too
busy). The ratio is measured against a reference in the same run (higher = better). ``quick``
shrinks sizes so tests can check the plumbing; its figures are not performance claims. A module
whose ``run`` also takes ``device`` can run on a GPU (``cropglobe bench --device cuda``).

Timings that hold on a shared machine (:func:`alternate`): the reference and the candidate run in
alternating rounds and the best (minimum) of each is kept, on one of three clocks:

- ``thread``: CPU seconds of the calling thread (``time.thread_time``). A core taken by another
  process stops this clock, so single-threaded work (torch with one intra-op thread included) is
  timed as if the machine were quiet. The preferred clock wherever the comparison allows it.
- ``process``: CPU seconds of every thread of the process (``time.process_time``): the CPU cost
  of multi-threaded work such as a Dask map (OpenMP spin-waits inflate it a little under load).
- ``wall``: ``time.perf_counter``; each run also records whether it kept its threads on a CPU
  (CPU seconds / wall seconds / threads), and a best run that did not is not trusted.

:func:`judge` refuses to give a ratio (``not_measured`` says why) when the best two runs of a
workload differ by more than ``SPREAD_LIMIT``, when the ratio of two workloads' best runs is more than
``SPREAD_LIMIT`` off the median of their ratios round by round (a load that slowed one workload's runs
more than the other's), when the best run is shorter than ``MIN_SAMPLE_S``
(too short to time on a busy machine) or, on the wall clock, when the best run was off the
CPU for more than ``1 - ON_CPU_MIN`` of its time; :func:`alternate` keeps adding rounds (up to
``max_rounds``) until the timings settle. A benchmark that judges its own timings this way returns
``not_measured`` (``None`` when measured); one that does not is distrusted by :func:`run` when
other processes used more than ``OTHERS_MAX`` of the machine's CPUs during it (``/proc/stat``).
Every result carries ``machine``: the CPU model, its bfloat16 flags (``amx_bf16``,
``avx512_bf16``), the CPU count, the 1-minute load average before and after the benchmark and
``others_cpu_share``, the share of the CPUs other processes used meanwhile.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import inspect
import json
import math
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from cropglobe.errors import CropGlobeError

#: Largest relative gap between the best and the second-best run of a workload that still counts as settled.
SPREAD_LIMIT = 0.15
#: Least seconds the best run of a workload must last on the chosen clock: below it, one preemption, a
#: cache flush or a frequency step is a large share of the run, and two short runs can agree with each
#: other while both are off by 20 % (seen with ~12 ms runs of a busy loop under a parallel load).
MIN_SAMPLE_S = 0.02
#: On the wall clock, the least share of its wall time the best run must have had its threads on a CPU.
ON_CPU_MIN = 0.85
#: A benchmark that does not judge its own timings gets no ratio when other processes used more than
#: this share of the machine's CPUs during its run.
OTHERS_MAX = 0.25
CLOCKS = ("thread", "process", "wall")
_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@dataclass(frozen=True)
class Benchmark:
    """One discovered benchmark."""

    name: str
    description: str
    module: ModuleType


def benchmarks_dir() -> Path:
    """Return the folder of benchmark modules (``$CROPGLOBE_BENCHMARKS`` or the repo's ``benchmarks/``)."""
    env = os.environ.get("CROPGLOBE_BENCHMARKS")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "benchmarks"
    if not path.is_dir():
        raise CropGlobeError(
            f"benchmark folder {path} not found: run from a source checkout (pip install -e .) or "
            "set CROPGLOBE_BENCHMARKS to the repository's benchmarks/ folder"
        )
    return path


def discover() -> dict[str, Benchmark]:
    """Import every ``bench_*.py`` module and return them by name, sorted."""
    found: dict[str, Benchmark] = {}
    for file in sorted(benchmarks_dir().glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(f"cropglobe_bench_{file.stem}", file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found[module.NAME] = Benchmark(module.NAME, module.DESCRIPTION, module)
    return dict(sorted(found.items()))


def takes_device(module: ModuleType) -> bool:
    """True when the benchmark's ``run`` accepts ``device`` (it can run on a GPU)."""
    return "device" in inspect.signature(module.run).parameters


def run(names: list[str] | None = None, quick: bool = False, device: str | None = None) -> list[dict]:
    """Run the named benchmarks (all when empty) and return their JSON-ready results.

    Each result is ``{"name", "ratio", "not_measured", "reference", "machine", "figures"}``;
    ``ratio`` is ``None`` exactly when ``not_measured`` says why.

    Args:
        names: Benchmarks to run; all when empty.
        quick: Tiny sizes (plumbing only).
        device: ``"cpu"`` or ``"cuda"``, passed to the benchmarks that take it; with a device other
            than the CPU only those run (all of them when ``names`` is empty).

    Raises:
        CropGlobeError: If a name is not a known benchmark, or does not run on ``device``.
    """
    available = discover()
    unknown = [n for n in names or [] if n not in available]
    if unknown:
        raise CropGlobeError(f"unknown benchmark(s) {unknown}; available: {', '.join(available)}")
    chosen = names or list(available)
    if device not in (None, "cpu"):
        if not names:
            chosen = [n for n in chosen if takes_device(available[n].module)]
        cpu_only = [n for n in chosen if not takes_device(available[n].module)]
        if cpu_only:
            gpu = [n for n in available if takes_device(available[n].module)]
            raise CropGlobeError(f"device={device}: benchmark(s) {cpu_only} run on the CPU only; "
                                 f"these take a device: {', '.join(gpu)}")
    results = []
    for name in chosen:
        module = available[name].module
        load_before, before = load_1min(), cpu_totals()
        kwargs = {"device": device} if device is not None and takes_device(module) else {}
        out = module.run(quick=quick, **kwargs)
        results.append(_result(name, out, quick, load_before, others_share(before, cpu_totals())))
    return results


def _result(name: str, out: dict, quick: bool, load_before: float | None, others: float | None) -> dict:
    missing = {"ratio", "reference", "figures"} - set(out)
    if missing:
        raise RuntimeError(f"benchmark {name} returned no {sorted(missing)}")
    ratio, reason, figures = out["ratio"], out.get("not_measured"), dict(out["figures"])
    if ratio is not None and not math.isfinite(float(ratio)):
        ratio, reason = None, reason or f"the ratio came out as {ratio}"
    if ratio is None and not reason:
        raise RuntimeError(f"benchmark {name} returned no ratio and no not_measured reason")
    if "not_measured" not in out and ratio is not None and others is not None and others > OTHERS_MAX:
        # a benchmark that does not judge its own timings: distrust it when others held the CPUs
        figures["ratio_unjudged"] = ratio
        ratio, reason = None, (f"machine too busy to measure: other processes used {others:.0%} of the "
                               f"{os.cpu_count()} CPUs during the run (limit {OTHERS_MAX:.0%}; this benchmark "
                               "times its workloads on the wall clock without alternating rounds)")
    return {"name": name, "ratio": None if ratio is None else float(ratio),
            "not_measured": None if ratio is not None else str(reason),
            "reference": str(out["reference"]),
            "machine": {**machine(load_before), "others_cpu_share": None if others is None else round(others, 3)},
            "figures": {**figures, "quick": quick}}


# ----------------------------------------------------------------------------------------- machine
def load_1min() -> float | None:
    """The 1-minute load average (``None`` where the platform has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def parse_cpuinfo(text: str) -> dict:
    """The CPU model ('model name'), its bfloat16 flags and whether it has bf16 units, from ``/proc/cpuinfo`` text."""
    model, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip() and not model:
            model = value.strip()
        elif key.strip() in ("flags", "Features") and not flags:
            flags = set(value.split())
    found = {f: f in flags for f in _BF16_FLAGS}
    return {"cpu_model": model or platform.processor() or platform.machine(), "cpu_flags": found,
            "bf16_units": any(found.values())}


@functools.cache
def cpu_info() -> dict:
    """:func:`parse_cpuinfo` of this machine's ``/proc/cpuinfo`` (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        text = ""
    return parse_cpuinfo(text)


def cpu_totals() -> tuple[float, float, float] | None:
    """Busy CPU seconds of the whole machine (``/proc/stat``), CPU seconds of this process and its
    finished children, and the wall clock; ``None`` where ``/proc/stat`` is missing."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()[1:9]]
    except (OSError, ValueError, IndexError):
        return None
    busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)  # all but idle and iowait; steal counts
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    return busy / os.sysconf("SC_CLK_TCK"), ours, time.perf_counter()


def others_share(before: tuple | None, after: tuple | None) -> float | None:
    """Share of the machine's CPU capacity (CPUs x wall time) that OTHER processes used between two
    :func:`cpu_totals` readings (0 = the machine was ours alone)."""
    if before is None or after is None or after[2] <= before[2]:
        return None
    busy, ours, wall = (a - b for a, b in zip(after, before, strict=True))
    return max(0.0, busy - ours) / (wall * (os.cpu_count() or 1))


def machine(load_before: float | None = None) -> dict:
    """What every result records about the machine: CPU, flags, CPU count and 1-minute load averages."""
    return {**cpu_info(), "arch": platform.machine(), "cpus": os.cpu_count(),
            "load_1min_before": load_before, "load_1min_after": load_1min()}


#: Dense bfloat16 tensor-core peaks (TFLOP/s, no sparsity) of known cards: (name fragments, peak), first match wins.
GPU_BF16_PEAKS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("H100", "PCIE"), 756.0), (("H100", "NVL"), 835.0), (("H100",), 989.0), (("H200",), 989.0),
    (("GH200",), 989.0), (("A100",), 312.0), (("L40S",), 362.0), (("L4",), 121.0), (("A10",), 125.0),
)


def gpu_bf16_peak(name: str) -> tuple[float | None, str]:
    """The card's dense bf16 peak in TFLOP/s and where it came from.

    ``$CROPGLOBE_GPU_BF16_PEAK_TFLOPS`` overrides the table :data:`GPU_BF16_PEAKS` (H100 SXM / H200
    989, H100 PCIe 756, A100 312, ...); an unknown card gives ``(None, why)``.
    """
    env = os.environ.get("CROPGLOBE_GPU_BF16_PEAK_TFLOPS")
    if env:
        return float(env), "CROPGLOBE_GPU_BF16_PEAK_TFLOPS"
    upper = name.upper()
    for fragments, peak in GPU_BF16_PEAKS:
        if all(f in upper for f in fragments):
            return peak, f"table entry {' '.join(fragments)} (dense bf16, vendor datasheet)"
    return None, f"unknown card {name!r}: set CROPGLOBE_GPU_BF16_PEAK_TFLOPS to its dense bf16 peak"


# ------------------------------------------------------------------------------------------ timing
@dataclass(frozen=True)
class Sample:
    """One timed call: wall seconds, CPU seconds of the calling thread and of the whole process."""

    wall: float
    thread: float
    process: float


def sample(fn: Callable[[], object]) -> Sample:
    """Time one call of ``fn`` on every clock."""
    w, t, p = time.perf_counter(), time.thread_time(), time.process_time()
    fn()
    return Sample(time.perf_counter() - w, time.thread_time() - t, time.process_time() - p)


@dataclass(frozen=True)
class Verdict:
    """The best time of each workload on one clock, how settled the timings were, and whether to trust them."""

    clock: str
    rounds: int
    best: dict[str, float]
    spread: dict[str, float | None]
    on_cpu: dict[str, float] = field(default_factory=dict)
    not_measured: str | None = None
    runs: dict[str, list[Sample]] = field(default_factory=dict, repr=False)  # every run, to judge on another clock

    def ratio(self, numerator: str, denominator: str) -> float | None:
        """``best[numerator] / best[denominator]`` (e.g. reference time / candidate time), or ``None``."""
        if self.not_measured is not None:
            return None
        return self.best[numerator] / self.best[denominator]

    def figures(self) -> dict:
        """JSON-ready summary: clock, rounds, best seconds, spreads, on-CPU shares, and why not measured."""
        out = {"clock": self.clock, "rounds": self.rounds,
               "best_seconds": {k: round(v, 6) for k, v in self.best.items()},
               "spread": {k: None if v is None else round(v, 3) for k, v in self.spread.items()},
               "spread_limit": SPREAD_LIMIT}
        if self.on_cpu:
            out["on_cpu"] = {k: round(v, 3) for k, v in self.on_cpu.items()}
        out["not_measured"] = self.not_measured
        return out


def judge(samples: dict[str, list[Sample]], clock: str = "thread", *, threads: int = 1,
          spread_limit: float = SPREAD_LIMIT, on_cpu_min: float | None = ON_CPU_MIN,
          min_seconds: float = MIN_SAMPLE_S) -> Verdict:
    """Decide whether the timings of each workload are settled enough to give a ratio.

    Args:
        samples: Runs of each workload (at least two each to judge their spread).
        clock: ``"thread"``, ``"process"`` or ``"wall"`` (see the module docstring).
        threads: Threads the workload keeps busy (wall clock: the on-CPU share of a run is its
            thread CPU time / wall time for 1, process CPU time / (wall time x threads) otherwise).
        spread_limit: Largest ``second best / best - 1`` of a workload.
        on_cpu_min: Wall clock only: least on-CPU share of each workload's best run (``None``: not checked,
            e.g. when the calling thread only waits for workers).
        min_seconds: Least seconds of each workload's best run on ``clock``; a shorter one is refused
            (time more work per run).

    Returns:
        A :class:`Verdict`; ``not_measured`` names each workload that failed and why.
    """
    if clock not in CLOCKS:
        raise ValueError(f"clock={clock!r}: expected one of {CLOCKS}")
    best, spread, on_cpu, problems = {}, {}, {}, []
    for key, runs in samples.items():
        if not runs:
            raise ValueError(f"no runs of {key!r}")
        values = sorted(getattr(s, clock) for s in runs)
        best[key] = values[0]
        spread[key] = values[1] / values[0] - 1 if len(values) > 1 and values[0] > 0 else None
        if values[0] <= 0:
            problems.append(f"{key} ran too briefly for the {clock} clock")
        elif values[0] < min_seconds:
            problems.append(f"the best {key} run lasted {values[0] * 1e3:.1f} ms on the {clock} clock, too short "
                            f"to time on a shared machine (needs {min_seconds * 1e3:.0f} ms)")
        elif spread[key] is None:
            problems.append(f"{key} ran once (two runs are needed to judge the timings)")
        elif spread[key] > spread_limit:
            problems.append(f"the best two {key} runs differ by {spread[key]:.0%} (limit {spread_limit:.0%})")
        if clock == "wall" and on_cpu_min is not None:
            top = min(runs, key=lambda s: s.wall)
            share = (top.thread if threads == 1 else top.process / threads) / top.wall if top.wall > 0 else 0.0
            on_cpu[key] = share
            if share < on_cpu_min:
                problems.append(f"the best {key} run had its threads on a CPU {share:.0%} of its wall time "
                                f"(needs {on_cpu_min:.0%})")
    rounds = min(len(v) for v in samples.values())
    settled = {k: samples[k] for k in samples if spread[k] is not None and spread[k] <= spread_limit}
    problems += _paired_disagreements(settled, clock, best, spread_limit)
    reason = None
    if problems:
        reason = (f"machine too busy to measure ({clock} clock, {rounds} alternating rounds, 1-min load average "
                  f"{load_1min()} on {os.cpu_count()} CPUs): " + "; ".join(problems))
    return Verdict(clock, rounds, best, spread, on_cpu, reason, {k: list(v) for k, v in samples.items()})


def _paired_disagreements(samples: dict[str, list[Sample]], clock: str, best: dict[str, float],
                          spread_limit: float) -> list[str]:
    """Pairs of settled workloads whose ratio of best runs disagrees with the median ratio of their runs round by round.

    The runs of one round are next to each other in time, so a load that comes and goes slows both
    alike; the best runs may come from different rounds. When another process slows every run of one
    workload and not all of the other's, each best run can still agree with its second best (the spread
    check passes) while their ratio is off; the round-by-round ratios then tell (seen under a parallel
    test run: best runs 1.54 for a 2:1 workload).
    """
    out = []
    keys = [k for k in samples if best[k] > 0]
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            rounds = zip(samples[a], samples[b], strict=False)  # a run of each per round (judge's callers may differ)
            paired = [getattr(x, clock) / getattr(y, clock) for x, y in rounds if getattr(y, clock) > 0]
            if len(paired) < 2:
                continue
            off = abs((best[a] / best[b]) / statistics.median(paired) - 1)
            if off > spread_limit:
                out.append(f"the ratio of the best {a} and {b} runs is {off:.0%} off the median of their ratios "
                           f"round by round (limit {spread_limit:.0%})")
    return out


@dataclass(frozen=True)
class Rounds:
    """How many alternating rounds :func:`alternate` runs.

    Attributes:
        min_rounds: Rounds before the first judgement (at least 2: a spread needs two runs).
        max_rounds: Rounds at most.
        budget_s: Stop after the round that passes this many seconds (None: no time limit).
    """

    min_rounds: int = 3
    max_rounds: int = 8
    budget_s: float | None = None


def alternate(fns: dict[str, Callable[[], object]], clock: str = "thread", rounds: Rounds = Rounds(), *,
              threads: int = 1, spread_limit: float = SPREAD_LIMIT, on_cpu_min: float | None = ON_CPU_MIN,
              min_seconds: float = MIN_SAMPLE_S, decide: Sequence[str] | None = None) -> Verdict:
    """Run the workloads in alternating rounds until their best times settle; judge them.

    Each round runs every workload once (in reverse order every other round, so neither always
    follows the other). After ``rounds.min_rounds`` the timings are judged after every round; the loop
    stops as soon as they pass, after ``rounds.max_rounds``, or once ``rounds.budget_s`` seconds have passed.
    Warm the workloads up first: every run here counts.

    Args:
        fns: The workloads by name.
        clock: ``"thread"``, ``"process"`` or ``"wall"`` (see :func:`judge`).
        rounds: How many rounds (:class:`Rounds`).
        threads: As :func:`judge`.
        spread_limit: As :func:`judge`.
        on_cpu_min: As :func:`judge`.
        min_seconds: As :func:`judge`.
        decide: The workloads the verdict judges (default: all); the others are only timed
            alongside (their runs are in ``Verdict.runs``, to judge on another clock).

    Returns:
        The :class:`Verdict` of the last judgement.
    """
    min_rounds, max_rounds, budget_s = rounds.min_rounds, rounds.max_rounds, rounds.budget_s
    keys = list(fns)
    decide = list(decide or keys)
    runs: dict[str, list[Sample]] = {k: [] for k in keys}
    start = time.perf_counter()
    verdict = None
    for r in range(max(2, min_rounds, max_rounds)):
        for key in keys if r % 2 == 0 else keys[::-1]:
            runs[key].append(sample(fns[key]))
        if r + 1 >= max(2, min_rounds):
            verdict = judge({k: runs[k] for k in decide}, clock, threads=threads, spread_limit=spread_limit,
                            on_cpu_min=on_cpu_min, min_seconds=min_seconds)
            if verdict.not_measured is None or (budget_s is not None and time.perf_counter() - start > budget_s):
                break
    assert verdict is not None
    return dataclasses.replace(verdict, runs={k: list(v) for k, v in runs.items()})


def best_time(fn: Callable[[], object], repeat: int) -> float:
    """Return the best wall time (seconds) of ``repeat`` calls of ``fn`` (the least disturbed run)."""
    best = float("inf")
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def dumps(result: dict) -> str:
    """Serialise one result as a single JSON line."""
    return json.dumps(result, sort_keys=False, default=float)


def one_thread(fns: dict[str, Callable[[], object]], quick: bool, min_rounds: int = 3) -> Verdict:
    """:func:`alternate` on one torch thread, timed by the thread's CPU time (a stolen core cannot distort it).

    The workloads are warmed up on one thread first; torch's thread count is restored afterwards.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for fn in fns.values():
            fn()
        return alternate(fns, "thread", Rounds(min_rounds, 6 if quick else 8))
    finally:
        torch.set_num_threads(threads)
