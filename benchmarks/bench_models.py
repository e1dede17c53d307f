"""Model zoo CPU speed: forward+backward samples/s per torch model, CropNet FLOP utilisation.

FLOPs of one training step are counted as 3 × the forward FLOPs that
``torch.utils.flop_counter.FlopCounterMode`` reports (backward = grad-input + grad-weight, each
as costly as the forward convolution/matmul). The counter's own backward figure is not used
because it ignores ``groups`` in ``convolution_backward`` and so inflates depthwise convolutions
(EfficientNet) by up to the group count; for CropNet (no groups) both agree to 0.1 %.

The machine is shared, so the headline times the CropNet step and the reference matmul on one
thread (one torch intra-op thread) by the CPU time of that thread, in alternating rounds, best of
each (:func:`cropglobe.bench.alternate`; ``null`` with ``not_measured`` when they do not settle).
The per-model samples/s and utilisations are all-thread wall-clock figures (alternating rounds for
CropNet and the matmul: both get the same chance of a quiet moment).
"""

from __future__ import annotations

from cropglobe.bench import Rounds, alternate, best_time

NAME = "models"
DESCRIPTION = ("forward+backward samples/s of each torch model at batch 256 on a 10x43 input; "
               "ratio = CropNet FLOP/s / large float32 matmul FLOP/s (same run, one thread, thread CPU time)")


def _step_fn(model, x, y):
    import torch

    model.train()

    def step() -> None:
        model.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()

    return step


def _train_flops(model, x) -> float:
    """3 × forward FLOPs of ``model`` on ``x`` (see the module docstring)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return 3.0 * counter.get_total_flops()


def run(quick: bool = False) -> dict:
    """Time every torch model of the registry and CropNet's utilisation of the matmul peak."""
    import torch

    from cropglobe.models import get_model, list_models, model_info

    batch, repeat, rounds, n_mm = (4, 1, 1, 256) if quick else (256, 2, 4, 3072)
    bands, times, classes = 10, 43, 7
    torch.manual_seed(0)
    x = torch.rand(batch, bands, times)
    y = torch.arange(batch) % classes
    a, b = torch.randn(n_mm, n_mm), torch.randn(n_mm, n_mm)

    def matmul() -> torch.Tensor:
        return a @ b

    matmul()
    figures: dict = {"batch": batch, "input": f"{bands}x{times}", "threads": torch.get_num_threads(),
                     "mkldnn": torch.backends.mkldnn.is_available(), "matmul_n": n_mm}

    # Headline: CropNet (channels_last) against the matmul, alternating rounds.
    cropnet = get_model("cropnet", bands, times, classes, seed=0)
    step = _step_fn(cropnet, x, y)
    step()  # warm-up: oneDNN primitive creation, allocator
    t_net, t_mm = float("inf"), float("inf")
    for _ in range(rounds):
        t_mm = min(t_mm, best_time(matmul, repeat + 1))
        t_net = min(t_net, best_time(step, repeat))
    flops = _train_flops(cropnet, x)
    peak = 2.0 * n_mm**3 / t_mm
    figures.update({"matmul_GFLOP_per_s": round(peak / 1e9, 1),
                    "cropnet_GFLOP_per_step": round(flops / 1e9, 2),
                    "cropnet_utilisation_all_threads_wall": round(flops / t_net / peak, 3)})

    # Headline: the same two on ONE thread, CPU time of the thread, alternating (cropglobe.bench.alternate):
    # a core taken by another process does not move it.
    mm_inner = 20 if quick else 1
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        step()
        verdict = alternate({"matmul": lambda: [matmul() for _ in range(mm_inner)], "cropnet": step}, "thread",
                            Rounds(3, 6 if quick else 8))
    finally:
        torch.set_num_threads(threads)
    peak_1 = 2.0 * n_mm**3 * mm_inner / verdict.best["matmul"]
    ratio = None if verdict.not_measured else flops / verdict.best["cropnet"] / peak_1
    figures.update({"matmul_GFLOP_per_s_1_thread": round(peak_1 / 1e9, 1),
                    "cropnet_samples_per_cpu_s_1_thread": round(batch / verdict.best["cropnet"], 1),
                    "timing": verdict.figures()})

    # models tied to their own inputs (presto-ft: packed Presto rows + pretrained weights) are not
    # measured on the 10x43 matrix
    for name in [n for n in list_models() if model_info(n).family == "torch" and not model_info(n).features]:
        if name == "cropnet":
            seconds = t_net
        else:  # mlp reads the 10x43 matrix as 430 flattened features
            model = get_model(name, bands, times, classes, seed=0)
            step = _step_fn(model, x, y)
            step()
            seconds = best_time(step, repeat)
            flops = _train_flops(model, x)
        figures[f"{name}_samples_per_s"] = round(batch / seconds, 1)
        figures[f"{name}_utilisation"] = round(flops / seconds / peak, 3)

    contiguous = get_model("cropnet", bands, times, classes, seed=0, channels_last=False)
    step = _step_fn(contiguous, x, y)
    step()
    seconds = best_time(step, repeat)
    figures["cropnet_contiguous_samples_per_s"] = round(batch / seconds, 1)
    figures["cropnet_contiguous_utilisation"] = round(_train_flops(contiguous, x) / seconds / peak, 3)
    return {"ratio": ratio, "not_measured": verdict.not_measured,
            "reference": f"float32 {n_mm}x{n_mm} matmul FLOP/s (torch.matmul) in the same run, both on one thread "
                         "(CPU time of the thread, best of alternating rounds)",
            "figures": figures}
