"""Does fitting a cell's seeds as one batched computation pay? Time per seed of one training
step (forward, backward, Adam) of the suite's nets at the SEWA suite's shapes, five seeds:

- **one by one**: five nets, each stepped on its own batch (what a suite does today);
- **vmap**: the five nets' parameters stacked and stepped together with ``torch.func.vmap``
  over ``functional_call`` (one batched matrix product per layer; dropout drawn per seed);
- **grouped GRU** (recurrent nets, where ``vmap`` has no rule for ``aten::gru``): a GRU written
  with batched matrix products, the input projection of every step at once and one product
  per step for the recurrence, all five seeds together.

Random inputs of the nets' shapes, one thread (as every cell of a suite), best of
``--repeats`` after a warm-up. A ratio above 1 means batching is slower per seed.

    python benchmarks/perf/seed_batching.py [--device cpu] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from pathlib import Path

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from emorec.models.ffnn import frame_net
from emorec.models.fusion import Fusion2, Fusion3, Fusion4
from emorec.models.gru import gru_net
from emorec.models.seq import SequenceNet
from emorec.system.provenance import code_version

sys.path.insert(0, str(Path(__file__).parent))
from machine import processor, publish  # noqa: E402
from training_profile import timed  # noqa: E402

SEEDS = 5
FACE, AUDIO = 256, 768      # the SEWA stand-in's embedding sizes
VIDEO_STEPS, AUDIO_STEPS = 20, 7   # a 4 s window at 5 fps; its 1 s audio windows, hop 0.5 s
DIMS = {"x": FACE, "video": FACE, "audio": AUDIO}


def nets() -> dict:
    """name -> (make one net, its batch (list of tensors, labels), grouped GRU shape or None)."""
    def window(batch):
        return [torch.randn(batch, VIDEO_STEPS, FACE), torch.ones(batch, VIDEO_STEPS, dtype=bool)]

    def fusion(batch):
        return [*window(batch), torch.randn(batch, AUDIO_STEPS, AUDIO),
                torch.ones(batch, AUDIO_STEPS, dtype=bool)]

    return {
        "ffnn (batch 256)": (lambda: frame_net(DIMS, 128, 0.2),
                             lambda: ([torch.randn(256, FACE)], torch.randn(256, 2)), None),
        "gru 4 s avg (batch 256)": (lambda: gru_net(DIMS, 64, 0.2, "avg", 3),
                                    lambda: (window(256), torch.randn(256, 2)),
                                    dict(batch=256, steps=VIDEO_STEPS, layers=1, sequence=False)),
        "fusion2 4 s (batch 256)": (lambda: Fusion2(DIMS, 64, 4, 0.1),
                                    lambda: (fusion(256), torch.randn(256, 2)), None),
        "fusion3 4 s (batch 256)": (lambda: Fusion3(DIMS, 64, 4, 0.1),
                                    lambda: (fusion(256), torch.randn(256, 2)), None),
        "fusion4_v2 4 s (batch 256)": (lambda: Fusion4(DIMS, 64, 4, 0.1, "v2"),
                                       lambda: (fusion(256), torch.randn(256, 2)), None),
        "seq_video causal (16 x 200 frames)": (
            lambda: SequenceNet(FACE, "gru", 2, 64, 0.1, False),
            lambda: ([torch.randn(16, 200, FACE), torch.ones(16, 200, dtype=bool)],
                     torch.randn(16, 200, 2)),
            dict(batch=16, steps=200, layers=2, sequence=True)),
    }


def one_by_one(make, batch, device):
    models = [make().to(device) for _ in range(SEEDS)]
    optimisers = [torch.optim.Adam(m.parameters(), 1e-3) for m in models]
    batches = [_on(batch(), device) for _ in range(SEEDS)]

    def step():
        for model, optimiser, (inputs, labels) in zip(models, optimisers, batches, strict=True):
            loss = ((model(*inputs) - labels) ** 2).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    return step


def vmapped(make, batch, device):
    models = [make().to(device) for _ in range(SEEDS)]
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    optimiser = torch.optim.Adam(params.values(), 1e-3)
    parts = [_on(batch(), device) for _ in range(SEEDS)]
    inputs = [torch.stack(xs) for xs in zip(*(p[0] for p in parts), strict=True)]
    labels = torch.stack([p[1] for p in parts])

    def forward(p, b, *xs):
        return functional_call(base, (p, b), xs)

    def step():
        out = vmap(forward, randomness="different")(params, buffers, *inputs)
        loss = ((out - labels) ** 2).flatten(1).mean(1).sum()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return step


class GroupedGRU(nn.Module):
    """``seeds`` GRUs (projection + ``layers`` GRU layers + head) stepped together."""

    def __init__(self, seeds: int, inputs: int, hidden: int, layers: int):
        super().__init__()
        self.hidden = hidden
        self.layers = nn.ParameterList()
        for layer in range(layers):
            width = inputs if layer == 0 else hidden
            self.layers.extend([nn.Parameter(torch.randn(seeds, width, 3 * hidden) * 0.05),
                                nn.Parameter(torch.randn(seeds, hidden, 3 * hidden) * 0.05),
                                nn.Parameter(torch.zeros(seeds, 1, 3 * hidden)),
                                nn.Parameter(torch.zeros(seeds, 1, 3 * hidden))])
        self.head = nn.Parameter(torch.randn(seeds, hidden, 2) * 0.05)

    def forward(self, x, sequence: bool):   # x: (seeds, batch, steps, inputs)
        seeds, batch, steps, _ = x.shape
        x = self.recurrent(x)
        pooled = x if sequence else x.mean(2, keepdim=True)
        return torch.tanh(torch.bmm(pooled.reshape(seeds, -1, self.hidden), self.head))

    def recurrent(self, x):
        """The last layer's outputs (seeds, batch, steps, hidden), as ``nn.GRU`` computes them
        (gates r, z, n in its order)."""
        seeds, batch, steps, _ = x.shape
        for i in range(0, len(self.layers), 4):
            w_in, w_h, b_in, b_h = self.layers[i:i + 4]
            gates_in = (torch.bmm(x.reshape(seeds, batch * steps, -1), w_in) + b_in)
            gates_in = gates_in.reshape(seeds, batch, steps, -1)
            h, outputs = x.new_zeros(seeds, batch, self.hidden), []
            for t in range(steps):
                r_in, z_in, n_in = gates_in[:, :, t].chunk(3, -1)
                r_h, z_h, n_h = torch.baddbmm(b_h, h, w_h).chunk(3, -1)
                r, z = torch.sigmoid(r_in + r_h), torch.sigmoid(z_in + z_h)
                n = torch.tanh(n_in + r * n_h)
                h = n + z * (h - n)
                outputs.append(h)
            x = torch.stack(outputs, 2)
        return x


def grouped(shape: dict, device):
    model = GroupedGRU(SEEDS, FACE, 64, shape["layers"]).to(device)
    optimiser = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.randn(SEEDS, shape["batch"], shape["steps"], FACE, device=device)
    outputs = shape["batch"] * (shape["steps"] if shape["sequence"] else 1)
    labels = torch.randn(SEEDS, outputs, 2, device=device)

    def step():
        loss = ((model(x, shape["sequence"]) - labels) ** 2).mean((1, 2)).sum()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return step


def _on(batch, device):
    inputs, labels = batch
    return [x.to(device) for x in inputs], labels.to(device)


def synchronised(step, device):
    if device.type != "cuda":
        return step

    def run():
        step()
        torch.cuda.synchronize()
    return run


def measure(device: torch.device, repeats: int) -> list[dict]:
    rows = []
    for name, (make, batch, gru_shape) in nets().items():
        row = {"net": name}
        ways = {"one by one": (one_by_one, (make, batch, device)),
                "vmap": (grouped, (gru_shape, device)) if gru_shape
                else (vmapped, (make, batch, device))}
        for way, (build, arguments) in ways.items():
            try:
                step = synchronised(build(*arguments), device)
                row[way] = timed(step, repeats) / SEEDS
            except RuntimeError as error:   # no batching rule: say so in the table
                row[way] = str(error).split(".")[0]
        row["batched as"] = "grouped GRU" if gru_shape else "vmap"
        rows.append(row)
        print(row, flush=True)
    return rows


def report(rows: list[dict], device: str, repeats: int, load: float) -> str:
    lines = [f"# Seed batching ({device})", "",
             f"Made by `python benchmarks/perf/seed_batching.py --device {device}` at commit "
             f"{code_version()} on {processor()}, torch {torch.__version__}, "
             f"{torch.get_num_threads()} thread(s); load average before the run "
             f"{load:.2f}. Milliseconds per seed of one training step, {SEEDS} "
             f"seeds, best of {repeats}; ratio = batched / one by one (above 1: slower).", "",
             "| net | one by one ms | batched as | batched ms | ratio |",
             "|---|---:|---|---:|---:|"]
    for row in rows:
        alone, together = row["one by one"], row["vmap"]
        if isinstance(together, str):
            lines.append(f"| {row['net']} | {alone * 1e3:.1f} | {row['batched as']} | "
                         f"({together}) | |")
        else:
            lines.append(f"| {row['net']} | {alone * 1e3:.1f} | {row['batched as']} | "
                         f"{together * 1e3:.1f} | {together / alone:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(1)
    torch.manual_seed(0)
    load = os.getloadavg()[0]
    publish(report(measure(device, args.repeats), args.device, args.repeats, load), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
