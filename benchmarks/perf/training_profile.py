"""Where a net's fit spends its time, and how close it runs to what this machine's torch does.

Fits one GRU window model, one fusion model and one sequence model on the full sewa-synth
stand-in, one thread each (as every cell of a suite), with the training loop's phases timed
(:func:`emorec.models.training.profiled`): batch gathering, forward, backward, optimiser step,
dev evaluation after each epoch, and the rest (Python and setup). In the same run it measures
the plain references of the same shapes: a matmul of the GRU's input projection, and a plain
``nn.GRU`` (or the sequence model's projection + stacked GRU) forward + backward + Adam step on
dense random tensors. The matrix FLOPs of one training step (counted by torch's
``FlopCounterMode``) give each fit's achieved GFLOP/s, over its training steps alone and over
the whole fit; the shares compare them with the plain references.

    python benchmarks/perf/training_profile.py [--device cpu] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from emorec.data.dataset import Dataset
from emorec.data.resolve import resolve_dataset
from emorec.models import MODELS, training
from emorec.models.inputs import Gather
from emorec.models.losses import LOSSES
from emorec.system.provenance import code_version

sys.path.insert(0, str(Path(__file__).parent))
from machine import processor  # noqa: E402

STAND_IN = {"kind": "sewa", "size": "full", "seed": 0}
FITS = [("gru", {"window": 4.0, "pooling": "avg"}),
        ("fusion4_v2", {"window": 4.0}),
        ("seq_video", {"direction": "causal"})]
PHASES = ("gather", "forward", "backward", "optimiser", "dev")


def timed(function, repeats: int = 10) -> float:
    """Best seconds of ``repeats`` calls (after one warm-up)."""
    function()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def step_flops(net: torch.nn.Module, arguments: list, labels: torch.Tensor, loss) -> int:
    """Matrix FLOPs of one forward + backward of ``net`` on one batch."""
    with FlopCounterMode(display=False) as counter:
        loss(net(*arguments), labels).backward()
    net.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def plain_reference(shape: dict, device: torch.device) -> dict:
    """GFLOP/s of a plain matmul of the input projection's shape and of a plain recurrent
    forward + backward + Adam step of the fit's batch shape."""
    batch, steps, inputs, hidden = shape["batch"], shape["steps"], shape["inputs"], shape["hidden"]
    a = torch.randn(batch * steps, inputs, device=device)
    w = torch.randn(inputs, 3 * hidden, device=device)
    matmul = 2 * batch * steps * inputs * 3 * hidden / timed(lambda: a @ w, 50) / 1e9
    layers = [torch.nn.Linear(inputs, hidden), torch.nn.ReLU()] if shape["project"] else []
    recurrent = torch.nn.GRU(hidden if shape["project"] else inputs, hidden,
                             num_layers=shape["layers"], batch_first=True)
    modules = torch.nn.ModuleList([*layers, recurrent]).to(device)
    optimiser = torch.optim.Adam(modules.parameters())
    x = torch.randn(batch, steps, inputs, device=device)

    def step():
        out = x
        for module in modules:
            out = module(out)[0] if module is recurrent else module(out)
        optimiser.zero_grad(set_to_none=True)
        out.square().mean().backward()
        optimiser.step()

    with FlopCounterMode(display=False) as counter:
        step()
    return {"matmul": matmul, "recurrent": counter.get_total_flops() / timed(step, 10) / 1e9}


def profile_fit(dataset: Dataset, name: str, params: dict, device: str) -> dict:
    spec = MODELS.get(name)
    params = spec.params({**params, "device": device})
    split = dataset.split()
    train, dev = (spec.build_view(dataset, params, p, split) for p in ("train", "dev"))
    estimator = spec.build(params, seed=0)
    start, cpu_start = time.perf_counter(), time.process_time()
    with training.profiled() as phases:
        estimator.fit(train, dev)
    seconds, core_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    history, config = estimator.history, estimator.config
    inputs, labels = estimator.training_data(train)
    # a sequence model with one net per target: FLOPs and shape of the first (they are alike)
    columns, net = estimator.nets[0] if hasattr(estimator, "nets") else (slice(None), estimator.net)
    return {"name": name, "params": params, "seconds": seconds, "core_seconds": core_seconds,
            "phases": dict(phases.seconds), "steps": history.steps,
            "epochs": len(history.epochs),
            "flops_per_step": _flops_per_step(net, inputs, labels[..., columns], config),
            "shape": _shape(net, inputs, config)}


def _flops_per_step(net, inputs: tuple, labels: np.ndarray, config) -> int:
    """One more training step's FLOPs on a batch of the fit's size (the weights after the fit:
    FLOPs do not depend on them)."""
    device = next(net.parameters()).device
    inputs = training._Inputs(inputs, device)
    batch = torch.arange(min(config.batch_size, inputs.length), device=device)
    labels = torch.as_tensor(labels, dtype=torch.float32, device=device)
    net.train()
    return step_flops(net, inputs.batch(batch), labels[batch], LOSSES[config.loss])


def _shape(net, inputs: tuple, config) -> dict:
    """The batch shape the plain reference copies."""
    x = inputs[0]
    rows = x.rows if isinstance(x, Gather) else x
    steps = rows.shape[1] if rows.ndim == 2 else 1
    width = x.source.shape[1] if isinstance(x, Gather) else x.shape[1]
    sequence = hasattr(net, "rnn")
    hidden = (net.rnn.hidden_size if sequence else
              net.gru.hidden_size if hasattr(net, "gru") else 64)
    return {"batch": config.batch_size, "steps": steps, "inputs": width, "hidden": hidden,
            "layers": net.rnn.num_layers if sequence else 1, "project": sequence}


def report(fits: list[dict], references: list[dict], device: str) -> str:
    lines = [f"# Training loop profile ({device})", "",
             f"Made by `python benchmarks/perf/training_profile.py --device {device}` at commit "
             f"{code_version()} on {processor()}, torch {torch.__version__}, one "
             f"thread per fit (as a suite's cells); load average before the run "
             f"{os.getloadavg()[0]:.2f}. Full sewa-synth stand-in, seed 0.", "",
             "Share of each fit's wall time per phase:", "",
             "| fit | epochs | steps | wall s | " + " | ".join(PHASES) + " | rest |",
             "|---|---:|---:|---:|" + "---:|" * (len(PHASES) + 1)]
    for fit in fits:
        shares = [fit["phases"].get(p, 0.0) / fit["seconds"] for p in PHASES]
        lines.append(f"| {_label(fit)} | {fit['epochs']} | {fit['steps']} | "
                     f"{fit['seconds']:.1f} | " + " | ".join(f"{100 * s:.0f}%" for s in shares)
                     + f" | {100 * (1 - sum(shares)):.0f}% |")
    lines += ["", "Achieved matrix GFLOP/s against the plain references of the same shapes "
              "(training steps: gather + forward + backward + optimiser; whole fit: with dev "
              "evaluation and the rest):", "",
              "| fit | GFLOP per step | training steps | whole fit | plain matmul | "
              "plain recurrent step | steps / plain recurrent |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for fit, reference in zip(fits, references, strict=True):
        training_seconds = sum(fit["phases"].get(p, 0.0) for p in PHASES if p != "dev")
        done = fit["flops_per_step"] * fit["steps"] / 1e9
        steps_rate, whole_rate = done / training_seconds, done / fit["seconds"]
        lines.append(f"| {_label(fit)} | {fit['flops_per_step'] / 1e9:.2f} | "
                     f"{steps_rate:.1f} | {whole_rate:.1f} | {reference['matmul']:.1f} | "
                     f"{reference['recurrent']:.1f} | "
                     f"{100 * steps_rate / reference['recurrent']:.0f}% |")
    return "\n".join(lines) + "\n"


def _label(fit: dict) -> str:
    shown = {k: fit["params"][k] for k in ("window", "pooling", "direction")
             if k in fit["params"]}
    return fit["name"] + "".join(f" {v}" for v in shown.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--data", type=Path, default=Path("data"),
                        help="where the stand-in is kept (default: data)")
    parser.add_argument("--out", type=Path, help="also write the report to this markdown file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    device = training.resolve_device(args.device)
    dataset = Dataset.load(resolve_dataset(None, STAND_IN, args.data, "the training profile"))
    fits = [profile_fit(dataset, name, params, args.device) for name, params in FITS]
    references = [plain_reference(fit["shape"], device) for fit in fits]
    text = report(fits, references, args.device)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
