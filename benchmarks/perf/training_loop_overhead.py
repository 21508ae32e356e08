"""The shared training loop against a bare PyTorch loop: the same GRU (4 s window, AVG pooling)
on the same full sewa-synth data, the same seed, batches and steps.

- bare + dev: the plain loop a researcher writes (pre-gathered tensors, per-epoch dev pass and
  a copy of the best weights: what early stopping needs);
- bare, train only: the same without the dev pass, for reference.

Each is run ``--repeats`` times, interleaved; the best time of each is compared. Both loops must
end with the same weights (checked), so they did the same work.

    python benchmarks/perf/training_loop_overhead.py [--epochs 3] [--repeats 3]
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch

from emorec.data import synth
from emorec.data.views import video_window_view
from emorec.models import nets, training
from emorec.models.gru import gru_net

WINDOW, HIDDEN, BATCH, SAMPLES, SEED = 4.0, 64, 256, 6000, 0


def make_net(dims):
    training.seed_everything(SEED)
    return gru_net(dims, hidden=HIDDEN, dropout=0.2, pooling="avg", kernel=3)


def shared(train, dev, epochs):
    stats = nets.fit_standardisation(train)
    net = make_net(nets.input_dims(train))
    config = training.TrainingConfig(epochs=epochs, batch_size=BATCH, patience=epochs,
                                     device="cpu", seed=SEED, epoch_samples=SAMPLES)
    start = time.perf_counter()
    training.train(net, nets.net_inputs(train, stats), train.frames.labels,
                   nets.net_inputs(dev, stats), dev.frames.labels, config)
    return time.perf_counter() - start, net


def bare(train, dev, epochs, with_dev):
    stats = nets.fit_standardisation(train)
    net = make_net(nets.input_dims(train))
    (tx, tm), (dx, dm) = (_dense(nets.net_inputs(v, stats)) for v in (train, dev))
    ty = torch.as_tensor(train.frames.labels, dtype=torch.float32)
    dy = torch.as_tensor(dev.frames.labels, dtype=torch.float32)
    start = time.perf_counter()
    training.seed_everything(SEED)
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(SEED)
    best, best_state = float("inf"), None
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(ty), generator=generator)[:SAMPLES]
        for begin in range(0, len(order), BATCH):
            batch = order[begin:begin + BATCH]
            optimiser.zero_grad()
            loss = training.rmse_loss(net(tx[batch], tm[batch]), ty[batch])
            loss.backward()
            optimiser.step()
        if with_dev:
            net.eval()
            with torch.no_grad():
                out = torch.cat([net(dx[i:i + 2048], dm[i:i + 2048])
                                 for i in range(0, len(dy), 2048)])
            rmse = float(torch.sqrt(((out - dy) ** 2).mean(0)).mean())
            if rmse < best:
                best, best_state = rmse, copy.deepcopy(net.state_dict())
    if with_dev:
        net.load_state_dict(best_state)
    return time.perf_counter() - start, net


def _dense(inputs):
    gathered, mask = inputs
    return (torch.as_tensor(gathered.source)[torch.as_tensor(gathered.rows)],
            torch.as_tensor(mask))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    dataset = synth.generate("sewa", "full", 0)
    train, dev = (video_window_view(dataset, p, WINDOW) for p in ("train", "dev"))
    print(f"full sewa-synth, GRU {WINDOW:g} s window, {len(train.frames)} train / "
          f"{len(dev.frames)} dev frames, {args.epochs} epochs x {SAMPLES} samples, batch "
          f"{BATCH}, {torch.get_num_threads()} torch threads")
    times = {"shared loop": [], "bare + dev": [], "bare, train only": []}
    for _ in range(args.repeats):
        seconds, shared_net = shared(train, dev, args.epochs)
        times["shared loop"].append(seconds)
        seconds, bare_net = bare(train, dev, args.epochs, with_dev=True)
        times["bare + dev"].append(seconds)
        times["bare, train only"].append(bare(train, dev, args.epochs, with_dev=False)[0])
    same = all(torch.allclose(a, b, atol=1e-5) for a, b in
               zip(shared_net.state_dict().values(), bare_net.state_dict().values(), strict=True))
    print(f"same final weights (shared loop vs bare + dev): {same}")
    best = {name: min(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:18s} best {best[name]:6.2f} s   runs {np.round(values, 2).tolist()}")
    for name in ("bare + dev", "bare, train only"):
        print(f"overhead of the shared loop vs {name}: "
              f"{100 * (best['shared loop'] / best[name] - 1):+.1f}%")
    if not same:
        raise SystemExit("the two loops did different work")


if __name__ == "__main__":
    main()
