"""Sequence models, the AVEC/MuSe challenge baseline: a recurrent net over long stretches of a
session that predicts every frame, beside the thesis's 1-4 s window models.

- Inputs per frame: the face embedding (``seq_video``), the latest audio window and whether
  there is one (``seq_audio``), or both concatenated (``seq_fusion``, early fusion), each
  standardised with training statistics.
- One net per target by default, as the MuSe-2023 baseline trains one model per target: each
  net predicts one target, is trained on that target's loss alone and keeps the epoch with that
  target's best dev score, so valence and arousal each get the epoch that suits them
  (``targets = "joint"``: one net with two outputs, stopped on their mean, at half the cost).
- Training, by default the AVEC/MuSe baselines' recipe (EIHW/MuSe-2023): overlapping segments
  of ``segment`` frames every ``hop`` frames of each training session (the last one ends at the
  session's end; a shorter session is one padded segment), a CCC loss computed per segment and
  averaged over the batch, the epoch with the best dev CCC kept (training stops after
  ``patience`` epochs without a better one) and the learning rate halved after
  ``plateau_patience`` epochs without one (ReduceLROnPlateau, factor 0.5, floor 1e-5). The
  earlier recipe stays a choice: ``loss = "ccc"`` (one CCC pooled over the batch),
  ``stop_on = "dev_rmse"``, ``schedule = "none"``. It runs on the shared training loop: the
  same seeding, Adam, per-epoch dev metrics and pruning hook as every net. Where the baselines'
  settings assume a GPU budget (100 epochs, patience 15, learning rate 1e-4) emorec keeps its
  CPU-sized ones: 30 epochs, patience 5, plateau patience 2, learning rate 2e-3.
- Evaluation: each dev and test session whole, one sequence, so every labelled frame gets a
  prediction: the same frames every other model is scored on.
- ``direction``: ``causal`` runs forward only, so a frame's prediction depends on that frame
  and the session's past (an online model, like the window models); ``bidirectional`` also
  reads the session's future frames: an **offline** model, which the leaderboard marks.
- A sequence is the session's frames with a face, in time order: like the GRU window model,
  the frames either side of a gap without a face are neighbours.
"""

from __future__ import annotations

from emorec.models.base import model
from emorec.models.net_params import (
    LOSS_NAMES,
    MONITORS,
    SCHEDULES,
    TRAINING_PARAMS,
    WINDOW,
    dropout_param,
    hidden_param,
)
from emorec.models.params import Param

DIRECTIONS = ("causal", "bidirectional")
SEQ_PARAMS = {
    "cell": Param("choice", "gru", choices=("gru", "lstm"), tune=True, help="recurrent cell"),
    "direction": Param("choice", "causal", choices=DIRECTIONS,
                       help="causal: online, a frame sees the session's past only; "
                            "bidirectional: offline, it sees the whole session"),
    "targets": Param("choice", "separate", choices=("separate", "joint"),
                     help="separate: one net per target, each trained on its own loss and "
                          "stopped on its own dev CCC (the challenges'); joint: one net for "
                          "both, stopped on their mean"),
    "loss": Param("choice", "segment_ccc", choices=LOSS_NAMES, tune=True,
                  help="training loss: segment_ccc, one CCC per training segment averaged over "
                       "the batch (the challenges'); ccc, one CCC over the whole batch; rmse"),
    "layers": Param("int", 2, low=1, high=4, tune=(1, 3), help="stacked recurrent layers"),
    "hidden": hidden_param(64, 16, 256),
    "dropout": dropout_param(0.1),
    "segment": Param("int", 200, low=2, tune=(50, 400), help="frames per training segment"),
    "hop": Param("int", 100, low=1, tune=(25, 200),
                 help="frames between training segment starts (at most segment)"),
    **TRAINING_PARAMS,
    "epochs": Param("int", 30, low=1, help="most passes over the training segments"),
    "batch_size": Param("int", 16, low=1, help="segments per batch"),
    "learning_rate": Param("float", 2e-3, above=0, tune=(1e-4, 1e-2), log=True,
                           help="Adam's step size"),
    "patience": Param("int", 5, low=1, help="epochs without a better dev score before stopping"),
    # The challenges' selection: the epoch with the best dev CCC, and the learning rate halved
    # when dev CCC stalls.
    "stop_on": Param("choice", "dev_ccc", choices=tuple(MONITORS),
                     help="the dev score that picks the best epoch and stops training"),
    "schedule": Param("choice", "plateau", choices=SCHEDULES,
                      help="plateau: halve the learning rate when the dev score stalls"),
    "epoch_samples": Param("int", None, low=1, optional=True,
                           help="training segments drawn per epoch (null: all)"),
}
GRID = {"direction": list(DIRECTIONS)}
OFFLINE = (("direction", "bidirectional"),)


def _sequence_regressor(name: str, seed: int, params: dict):
    from emorec.models.seq import SequenceRegressor

    return SequenceRegressor(name, seed, **params)


@model("seq_video", family="seq", modality="video", view="frame", params=SEQ_PARAMS, grid=GRID,
       offline_when=OFFLINE)
def seq_video(seed: int, **params):
    """Sequence GRU/LSTM over the face embeddings, every frame of whole sessions predicted (the
    AVEC/MuSe baseline); causal or bidirectional."""
    return _sequence_regressor("seq_video", seed, params)


@model("seq_audio", family="seq", modality="audio", view="audio_window",
       params={"window": WINDOW, **SEQ_PARAMS}, grid=GRID, offline_when=OFFLINE)
def seq_audio(seed: int, **params):
    """Sequence GRU/LSTM over the latest audio window of each frame, every frame of whole
    sessions predicted (the AVEC/MuSe baseline); causal or bidirectional."""
    return _sequence_regressor("seq_audio", seed, params)


@model("seq_fusion", family="seq", modality="audio-visual", view="frame_audio",
       params={"window": WINDOW, **SEQ_PARAMS}, grid=GRID, offline_when=OFFLINE)
def seq_fusion(seed: int, **params):
    """Sequence GRU/LSTM over face embedding and latest audio window side by side (early
    fusion), every frame of whole sessions predicted (the AVEC/MuSe baseline); causal or
    bidirectional."""
    return _sequence_regressor("seq_fusion", seed, params)
