"""CropNet inference on the CPU's (or a GPU's) float32 and bfloat16 units, against a same-run roofline.

Model: ``get_model("cropnet", n_bands=9, n_times=31, n_classes=7)`` (the real Canada -> France
cell's input: 9 bands x 31 five-day bins), eval mode, through the mapping's own inference path
(:func:`cropglobe.training.lightning.predict_proba_torch`: batches, softmax, numpy out), in float32
and in bfloat16 autocast (``bf16-mixed``). bf16 is measured where the hardware has bf16 units
(AMX-BF16 / AVX512-BF16 CPUs, CUDA GPUs); elsewhere bfloat16 is emulated, far slower than float32,
and the result says so instead of timing it. Each precision is set against the same-run peak of a
large ``torch.matmul`` in that precision (2048² quick, 4096² otherwise; 8192² on a GPU). The model's
FLOPs per pixel come from ``torch.utils.flop_counter.FlopCounterMode`` (2 FLOPs per multiply-add);
achieved GFLOP/s = FLOPs per pixel x px/s, and achieved / peak says how close CropNet runs to the
machine's limit (oneDNN's convolutions may beat the naive FLOP count, so it can exceed 1).

CPU headline: inference and matmul on ONE thread (one torch intra-op thread), timed by the CPU time
of that thread in alternating rounds, best of each (:func:`cropglobe.bench.alternate`), so other
processes on the machine do not move it: ratio = achieved / matmul peak in the precision that
``precision="auto"`` picks on this machine (bf16 with bf16 units, float32 otherwise). The all-thread
px/s and peaks (wall clock, alternating, with their own verdict) are figures. On a GPU
(``--device cuda``): wall clock with ``torch.cuda.synchronize``, plus MFU = achieved FLOP/s / the
card's dense bf16 peak (:func:`cropglobe.bench.gpu_bf16_peak`).
"""

from __future__ import annotations

NAME = "infer"
DESCRIPTION = ("CropNet (9 bands x 31 bins) inference px/s in float32 and bf16 vs same-run matmul peak; "
               "ratio = achieved FLOP/s / peak in the auto precision (CPU: one thread, thread CPU time)")
BANDS, TIMES, CLASSES = 9, 31, 7


def flops_per_pixel(net, device: str = "cpu") -> float:
    """Forward FLOPs per pixel of ``net`` on a (16, BANDS, TIMES) batch (``FlopCounterMode``)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.rand(16, BANDS, TIMES, device=device)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        net(x)
    return counter.get_total_flops() / 16


def run(quick: bool = False, device: str = "cpu") -> dict:
    """Time CropNet inference and the matmul peak in each precision; report px/s, GFLOP/s and their ratios."""
    import numpy as np
    import torch

    from cropglobe.bench import ON_CPU_MIN, Rounds, alternate, cpu_info, gpu_bf16_peak, one_thread
    from cropglobe.errors import CropGlobeError
    from cropglobe.models import get_model
    from cropglobe.training.lightning import predict_proba_torch, resolve_precision

    cuda = device == "cuda"
    if cuda and not torch.cuda.is_available():
        raise CropGlobeError("device=cuda: torch sees no CUDA device")
    cpu = cpu_info()
    if cuda:
        pixels, batch, n_mm, inner = (4096, 4096, 4096, 3) if quick else (65536, 16384, 8192, 5)
    else:
        pixels, batch, n_mm, inner = (32, 32, 2048, 1) if quick else (512, 512, 4096, 1)
    torch.manual_seed(0)
    net = get_model("cropnet", BANDS, TIMES, CLASSES, seed=0).to(device).eval()
    flops_px = flops_per_pixel(net, device)
    x = np.random.default_rng(0).uniform(0.0, 0.5, (pixels, BANDS, TIMES)).astype(np.float32)
    has_bf16 = cuda or cpu["bf16_units"]
    precisions = ["float32", "bf16"] if has_bf16 else ["float32"]
    auto = "bf16" if resolve_precision("auto", "cuda" if cuda else "cpu") == "bf16-mixed" and has_bf16 else "float32"
    a = torch.randn(n_mm, n_mm, device=device)
    b = torch.randn(n_mm, n_mm, device=device)
    mats = {"float32": (a, b), "bf16": (a.bfloat16(), b.bfloat16())}

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    def infer(p: str):
        mode = "bf16-mixed" if p == "bf16" else "32-true"
        return lambda: [predict_proba_torch(net, x, batch_size=batch, precision=mode) for _ in range(inner)]

    def matmul(p: str):
        m1, m2 = mats[p]
        return lambda: ([torch.matmul(m1, m2) for _ in range(inner)], sync())

    fns = {}
    for p in precisions:
        fns[f"infer_{p}"], fns[f"matmul_{p}"] = infer(p), matmul(p)
    for fn in fns.values():  # warm-up: oneDNN / cuBLAS primitives, allocator
        fn()

    def rates(verdict, suffix: str) -> dict:
        out = {}
        for p in precisions:
            px_s = pixels * inner / verdict.best[f"infer_{p}"]
            peak = 2.0 * n_mm**3 * inner / verdict.best[f"matmul_{p}"]
            achieved = flops_px * px_s
            out[p] = {f"px_per_s{suffix}": round(px_s, 1), f"matmul_GFLOP_per_s{suffix}": round(peak / 1e9, 1),
                      f"achieved_GFLOP_per_s{suffix}": round(achieved / 1e9, 1),
                      f"achieved_over_peak{suffix}": None if verdict.not_measured else round(achieved / peak, 4)}
        return out

    figures: dict = {"model": "cropnet", "input": f"{BANDS}x{TIMES}", "classes": CLASSES, "pixels_per_run": pixels,
                     "batch": batch, "matmul_n": n_mm, "device": device, "cpu_model": cpu["cpu_model"],
                     "cpu_flags": cpu["cpu_flags"], "threads": torch.get_num_threads(),
                     "GFLOP_per_pixel": round(flops_px / 1e9, 4), "auto_precision": auto,
                     "flop_count": "torch.utils.flop_counter.FlopCounterMode, forward, 2 FLOPs per multiply-add"}
    if not has_bf16:
        figures["bf16"] = {"measured": False,
                           "why": f"the CPU ({cpu['cpu_model']}) has neither amx_bf16 nor avx512_bf16: bfloat16 "
                                  "would be emulated (far slower than float32), so it is not timed"}
    threads = torch.get_num_threads()
    if cuda:
        headline = alternate(fns, "wall", Rounds(3, 8), on_cpu_min=None)
        per = rates(headline, "")
        name = torch.cuda.get_device_name()
        peak_tflops, source = gpu_bf16_peak(name)
        figures.update({"gpu": name, "gpu_bf16_peak_TFLOP_per_s": peak_tflops, "gpu_bf16_peak_source": source,
                        "tf32": {"matmul": torch.backends.cuda.matmul.allow_tf32,
                                 "cudnn": torch.backends.cudnn.allow_tf32}})
        for p in precisions:
            per[p]["mfu_vs_bf16_peak"] = (None if peak_tflops is None or headline.not_measured
                                          else round(per[p]["achieved_GFLOP_per_s"] / (peak_tflops * 1e3), 4))
        basis = "wall clock with torch.cuda.synchronize"
    else:
        headline = one_thread(fns, quick)
        per = rates(headline, "_1_thread")
        every = alternate(fns, "wall", Rounds(2, 4), threads=threads, on_cpu_min=ON_CPU_MIN)
        for p, vals in rates(every, "_all_threads").items():
            per[p].update(vals)
        figures["timing_all_threads"] = every.figures()
        basis = "one thread, CPU time of the thread"
    figures.update(per)
    if "bf16" in per:
        key = "px_per_s" if cuda else "px_per_s_1_thread"
        figures["bf16_over_float32_px_per_s"] = round(per["bf16"][key] / per["float32"][key], 3)
    figures["timing"] = headline.figures()
    ratio = None
    if headline.not_measured is None:
        px_s = pixels * inner / headline.best[f"infer_{auto}"]
        ratio = flops_px * px_s / (2.0 * n_mm**3 * inner / headline.best[f"matmul_{auto}"])
    return {
        "ratio": ratio,
        "not_measured": headline.not_measured,
        "reference": f"{n_mm}x{n_mm} torch.matmul FLOP/s in {auto} ({basis}), same run, alternating rounds",
        "figures": figures,
    }
