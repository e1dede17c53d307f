"""Mixed precision on the CPU: CropNet training samples/s in bfloat16 autocast vs float32.

One training step is forward + backward + Adam at batch 256 on a 10 x 43 input (the paper's
CropNet-4.69M). ``bf16-mixed`` is what Lightning's ``precision="bf16-mixed"`` does on a CPU:
``torch.autocast("cpu", dtype=torch.bfloat16)`` around the forward pass, float32 weights, gradients
and optimiser state. On CPUs with AMX-BF16 / AVX512-BF16 units the convolutions run on them.
The two modes are timed in alternating rounds and the best round of each is kept, so both get
the same chance of a quiet moment on a shared machine. Ratio = bf16 samples/s / float32 samples/s
(goal >= 2.5 where the CPU has bf16 units).
"""

from __future__ import annotations

from cropglobe.bench import best_time

NAME = "precision"
DESCRIPTION = ("CropNet forward+backward+Adam samples/s at batch 256 on 10x43: bf16 autocast vs float32; "
               "ratio = bf16 / float32 (same run)")


def run(quick: bool = False) -> dict:
    """Time CropNet training steps in both precisions and report samples/s and their ratio."""
    import torch

    from cropglobe.models import get_model
    from cropglobe.training.lightning import _cpu_has_bf16, resolve_precision

    batch, steps, rounds, model = (8, 1, 1, "cropnet-lite") if quick else (256, 3, 3, "cropnet")
    torch.manual_seed(0)
    net = get_model(model, 10, 43, 7, seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = torch.rand(batch, 10, 43)
    y = torch.arange(batch) % 7

    def steps_in(bf16: bool):
        def go() -> None:
            for _ in range(steps):
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    loss = torch.nn.functional.cross_entropy(net(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return go

    steps_in(False)()  # warm-up of both kernels' paths
    steps_in(True)()
    best = {"float32": float("inf"), "bf16": float("inf")}
    for _ in range(rounds):
        best["float32"] = min(best["float32"], best_time(steps_in(False), 1))
        best["bf16"] = min(best["bf16"], best_time(steps_in(True), 1))
    rate = {k: batch * steps / v for k, v in best.items()}
    return {
        "ratio": rate["bf16"] / rate["float32"],
        "reference": f"{model} float32 training step, same run",
        "figures": {"model": model, "batch": batch, "input": "10x43", "threads": torch.get_num_threads(),
                    "float32_samples_per_s": round(rate["float32"], 1),
                    "bf16_samples_per_s": round(rate["bf16"], 1),
                    "cpu_has_bf16_units": _cpu_has_bf16(),
                    "training_default_precision": resolve_precision("auto", "cpu")},
    }
