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
