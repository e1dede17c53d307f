"""Mixed precision: CropNet training samples/s in bfloat16 autocast vs float32 (CPU, or a CUDA GPU).

One training step is forward + backward + Adam at batch 256 on a 10 x 43 input (the paper's
CropNet-4.69M). ``bf16-mixed`` is what Lightning's ``precision="bf16-mixed"`` does:
``torch.autocast(device, dtype=torch.bfloat16)`` around the forward pass, float32 weights, gradients
and optimiser state. On CPUs with AMX-BF16 / AVX512-BF16 units the convolutions run on them; on other
CPUs bfloat16 is emulated (slower than float32). Ratio = bf16 samples/s / float32 samples/s
(goal >= 2.5 where the CPU has bf16 units).

CPU headline: both modes on ONE thread (one torch intra-op thread), timed by the CPU time of that
thread in alternating rounds, best of each (:func:`cropglobe.bench.alternate`): a core taken by
another process does not move it. The all-thread rates (wall clock, alternating, with their own
verdict) are figures: they are what a training run sees, and what a busy machine distorts.
On CUDA (``--device cuda``) the wall clock with ``torch.cuda.synchronize`` is used.
"""

from __future__ import annotations

NAME = "precision"
DESCRIPTION = ("CropNet forward+backward+Adam samples/s at batch 256 on 10x43: bf16 autocast vs float32; "
               "ratio = bf16 / float32 (same run; CPU: one thread, thread CPU time)")


def run(quick: bool = False, device: str = "cpu") -> dict:
    """Time CropNet training steps in both precisions and report samples/s and their ratio."""
    import torch

    from cropglobe.bench import ON_CPU_MIN, Rounds, alternate, cpu_info, one_thread
    from cropglobe.errors import CropGlobeError
    from cropglobe.models import get_model
    from cropglobe.training.lightning import resolve_precision

    cuda = device == "cuda"
    if cuda and not torch.cuda.is_available():
        raise CropGlobeError("device=cuda: torch sees no CUDA device")
    batch, steps, model = (8, 1, "cropnet-lite") if quick else (256, 1, "cropnet")
    if cuda:
        batch, steps = (64, 2) if quick else (1024, 10)
    torch.manual_seed(0)
    net = get_model(model, 10, 43, 7, seed=0).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = torch.rand(batch, 10, 43, device=device)
    y = (torch.arange(batch) % 7).to(device)

    def steps_in(bf16: bool):
        def go() -> None:
            for _ in range(steps):
                with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
                    loss = torch.nn.functional.cross_entropy(net(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if cuda:
                torch.cuda.synchronize()
        return go

    fns = {"float32": steps_in(False), "bf16": steps_in(True)}
    threads = torch.get_num_threads()
    figures: dict = {"model": model, "batch": batch, "steps_per_run": steps, "input": "10x43", "device": device,
                     "threads": threads, "cpu_has_bf16_units": cpu_info()["bf16_units"],
                     "training_default_precision": resolve_precision("auto", "cuda" if cuda else "cpu")}
    for fn in fns.values():  # warm-up of both kernels' paths
        fn()
    if cuda:
        headline = alternate(fns, "wall", Rounds(3, 8), on_cpu_min=None)
        figures["gpu"] = torch.cuda.get_device_name()
        basis = "wall clock with torch.cuda.synchronize"
    else:
        headline = one_thread(fns, quick)
        basis = "one thread, CPU time of the thread"
        rate1 = {k: batch * steps / v for k, v in headline.best.items()}
        figures.update({"float32_samples_per_cpu_s_1_thread": round(rate1["float32"], 1),
                        "bf16_samples_per_cpu_s_1_thread": round(rate1["bf16"], 1)})
        every = alternate(fns, "wall", Rounds(2, 4), threads=threads, on_cpu_min=ON_CPU_MIN)
        figures["timing_all_threads"] = every.figures()
        wall_ratio = every.ratio("float32", "bf16")
        figures["all_threads_ratio"] = None if wall_ratio is None else round(wall_ratio, 3)
    wall = headline if cuda else every
    rate = {k: batch * steps / v for k, v in wall.best.items()}
    figures.update({"float32_samples_per_s": round(rate["float32"], 1), "bf16_samples_per_s": round(rate["bf16"], 1),
                    "timing": headline.figures()})
    return {
        "ratio": headline.ratio("float32", "bf16"),
        "not_measured": headline.not_measured,
        "reference": f"{model} float32 training step, same run ({basis}, best of alternating rounds)",
        "figures": figures,
    }
