"""The parameters every net declares, as data without torch: the training loop's settings, the
input window and the training target. The zoo's declarations (:mod:`emorec.models.zoo`) and
plugins build their params from these; :mod:`emorec.models.training` reads them."""

from __future__ import annotations

from emorec.models.params import Param

LOSS_NAMES = ("rmse", "ccc", "segment_ccc")   # the keys of training's LOSSES
# The dev score that picks the best epoch: (epoch metric, whether higher is better).
MONITORS = {"dev_rmse": ("dev_mean_rmse", False), "dev_ccc": ("dev_mean_ccc", True)}
SCHEDULES = ("none", "plateau")

# The training loop's parameters, declared once for every net (frame nets' defaults).
TRAINING_PARAMS = {
    "epochs": Param("int", 50, low=1, help="most passes over the training data"),
    "batch_size": Param("int", 256, low=1),
    "learning_rate": Param("float", 1e-3, above=0, tune=(1e-4, 1e-2), log=True,
                           help="Adam's step size"),
    "patience": Param("int", 5, low=1, help="epochs without a better dev score before stopping"),
    "stop_on": Param("choice", "dev_rmse", choices=tuple(MONITORS),
                     help="the dev score that picks the best epoch and stops training"),
    "schedule": Param("choice", "none", choices=SCHEDULES,
                      help="plateau: halve the learning rate when the dev score stalls"),
    "plateau_patience": Param("int", 2, low=0,
                              help="epochs without a better dev score tolerated before the "
                                   "rate halves"),
    "device": Param("text", "auto", pattern=r"auto|cpu|cuda(:\d+)?|mps",
                    help="auto: CUDA when present"),
    "epoch_samples": Param("int", None, low=1, optional=True,
                           help="training windows drawn per epoch (null: all)"),
}
# Window nets see 5-20x more input per frame than frame nets: epochs of a sample of the
# training windows keep the thesis grids on CPU. An epoch of 12,000 windows (about 40% of the
# SEWA stand-in's training frames) with patience 2 stops after the same 24,000 windows
# without improvement as 6,000 with patience 4 did, and scores dev half as often. Each epoch
# scores every second dev frame (0.2 s apart at 5 fps: neighbours whose labels barely differ),
# which halves the cost of the dev pass (a quarter of a GRU fit with all frames); the dev
# scores a row reports are over every frame.
WINDOW_TRAINING_PARAMS = {
    **TRAINING_PARAMS,
    "dev_stride": Param("int", 2, low=1,
                        help="score every dev_stride-th dev frame after each epoch (1: all)"),
    "epochs": Param("int", 10, low=1, help="most passes (of epoch_samples windows)"),
    "patience": Param("int", 2, low=1, help="epochs without a better dev score before stopping"),
    "epoch_samples": Param("int", 12000, low=1, optional=True,
                           help="training windows drawn per epoch (null: all)"),
}
WINDOW_SECONDS = [1.0, 2.0, 3.0, 4.0]   # the thesis's windows (5-20 frames at 5 fps)
WINDOW = Param("float", 1.0, above=0, help="seconds of input ending at the frame")
# What a video window model is trained to predict. Every model is scored on the frame's own
# label; "frame" trains on that (the default, so training and scoring agree), "window_mean" on
# the mean label of the window's frames, as the thesis trained its GRU. Early stopping reads
# the dev frames' own labels either way.
TRAINING_TARGETS = ("frame", "window_mean")
TARGET = Param("choice", "frame", choices=TRAINING_TARGETS,
               help="training label: the frame's own, or the window's mean (the thesis's)")


def dropout_param(default: float) -> Param:
    return Param("float", default, low=0.0, high=0.95, tune=(0.0, 0.5))


def hidden_param(default: int, low: int = 32, high: int = 512) -> Param:
    return Param("int", default, low=1, tune=(low, high), help="hidden units")
