"""The performance benchmarks' own machinery, on tiny data (the full runs are benchmarks)."""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "perf"))
import training_profile  # noqa: E402


def test_the_training_profile_times_every_phase_and_counts_the_arithmetic(tiny_sewa):
    fit = training_profile.profile_fit(tiny_sewa, "gru", {"window": 2.0, "epochs": 2}, "cpu")
    assert set(fit["phases"]) == set(training_profile.PHASES)
    assert all(seconds > 0 for seconds in fit["phases"].values())
    assert sum(fit["phases"].values()) <= fit["seconds"]
    assert fit["steps"] > 0 and fit["flops_per_step"] > 0
    reference = training_profile.plain_reference(fit["shape"], torch.device("cpu"))
    assert reference["matmul"] > 0 and reference["recurrent"] > 0
    report = training_profile.report([fit], [reference], "cpu")
    assert "| gru 2.0 avg | 2 |" in report


def test_the_grouped_gru_of_the_seed_batching_benchmark_is_pytorchs_gru():
    """The batched GRU it times against nn.GRU computes the same thing, seed by seed."""
    import seed_batching

    torch.manual_seed(0)
    references = [torch.nn.GRU(6, 4, batch_first=True) for _ in range(2)]
    grouped = seed_batching.GroupedGRU(2, 6, 4, layers=1)
    with torch.no_grad():
        for name, stacked in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"),
                                 grouped.layers, strict=True):
            weights = [getattr(gru, name) for gru in references]
            stacked.copy_(torch.stack([w.T if w.dim() == 2 else w[None] for w in weights]))
    x = torch.randn(2, 3, 5, 6)
    expected = torch.stack([gru(x[seed])[0] for seed, gru in enumerate(references)])
    assert torch.allclose(grouped.recurrent(x), expected, atol=1e-6)
