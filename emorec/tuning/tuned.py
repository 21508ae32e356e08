"""A study's best trial as "tuned" rows: ``emorec bench SUITE --params-from STUDY``.

The record is plain data, so the runner uses it without importing Optuna; only
:func:`tuned_params` (called by the CLI) reads the study.
"""

from __future__ import annotations

from dataclasses import dataclass

from emorec.errors import EmorecError


@dataclass(frozen=True)
class Tuned:
    """The best trial of a study."""
    study: str
    storage: str
    model: str
    params: dict
    trial: int
    dev_mean_ccc: float
    finished: int            # finished (complete or pruned) trials of the study
    fingerprint: str | None  # the dataset and split the study tuned on
    split_hash: str | None

    def tags(self) -> dict:
        """What an MLflow run of a tuned cell records about its study."""
        return {"tuned_by": self.study, "tuned_storage": self.storage,
                "tuned_trial": str(self.trial), "tuned_dev_mean_ccc": f"{self.dev_mean_ccc:.4f}",
                "tuned_study_trials": str(self.finished)}


def tuned_params(study_name: str, storage: str) -> Tuned:
    """The best complete trial of a study, with the full params it ran with."""
    from optuna.trial import TrialState

    from emorec.tuning.plan import FINISHED, count
    from emorec.tuning.storage import load_existing_study

    study = load_existing_study(study_name, storage, "--params-from")
    if not count(study, (TrialState.COMPLETE,)):
        raise EmorecError(f"--params-from: study {study_name!r} has no complete trial yet")
    best = study.best_trial
    attrs = study.user_attrs
    return Tuned(study=study_name, storage=storage, model=attrs["model"],
                 params=best.user_attrs["params"], trial=best.number,
                 dev_mean_ccc=float(best.value), finished=count(study, FINISHED),
                 fingerprint=attrs.get("fingerprint"), split_hash=attrs.get("split_hash"))
