"""What a trial computes and says: its objective, dev CCC through the same
:func:`~emorec.evaluation.evaluate_cell` as ``emorec bench`` (pruned on its epochs' dev CCC,
failed when the net's predictions are saturated or constant, refused when the study already has
its trials), and the one line printed as each trial ends."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from emorec.data.dataset import Dataset
from emorec.display import format_params
from emorec.errors import EmorecError
from emorec.evaluation import evaluate_cell
from emorec.models import MODELS
from emorec.store import result_rows
from emorec.system.processes import worker_id
from emorec.tuning.plan import FINISHED, LIVE, StudyPlan, count
from emorec.tuning.space import suggest
from emorec.vocabulary import TARGETS

SATURATED_LEVEL, SATURATED_SHARE = 0.99, 0.5   # a trial whose net predicts like this fails
CONSTANT_STD = 1e-4


class SurplusTrial(EmorecError):
    """The study already has its N trials finished, running or queued."""


def trial_seed(plan: StudyPlan) -> int | None:
    """The seed a trial fits with: the study's, or None for a seed-free model (as its bench
    cell fits)."""
    return plan.seed if MODELS.get(plan.model).seeded else None


class Objective:
    """Dev CCC of one model with sampled params."""

    def __init__(self, plan: StudyPlan):
        self.plan = plan
        self.spec = MODELS.get(plan.model)
        self.dataset = Dataset.load(plan.dataset)

    def __call__(self, trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", worker_id())
        ahead = [t for t in trial.study.get_trials(deepcopy=False, states=LIVE)
                 if t.number < trial.number]
        if len(ahead) >= self.plan.trials:
            trial.set_user_attr("surplus", True)
            raise SurplusTrial(f"trial {trial.number}: the study already has "
                               f"{self.plan.trials} trials")
        params = self.spec.params({**suggest(trial, self.spec, self.plan.fixed),
                                   **self.plan.fixed})
        trial.set_user_attr("params", params)

        def report(epoch: int, scores: dict) -> None:
            trial.report(scores["dev_mean_ccc"], epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"dev CCC {scores['dev_mean_ccc']:.3f} at epoch {epoch}")

        try:
            result = evaluate_cell(self.dataset, self.spec, params, trial_seed(self.plan),
                                   partitions=("dev",), on_epoch=report)
        except (EmorecError, ValueError, FloatingPointError) as error:
            # diverged (non-finite predictions) or refused: a failed trial, said in its line
            trial.set_user_attr("fail_reason", f": {error}")
            raise EmorecError(f"trial {trial.number}: {error}") from None
        problem = saturated(result.predictions["dev"])
        if problem:
            trial.set_user_attr("fail_reason", f": {problem}")
            raise EmorecError(f"trial {trial.number}: {problem}")
        scores = result_rows.scores(result.predictions)
        trial.set_user_attr("dev_metrics", scores)
        return float(scores["dev_mean_ccc"])


class TrialLine:
    """Prints ``trial 7 COMPLETE dev CCC 0.812 in 41 s (gru: hidden=96, ...) [5/40 finished]``
    as each trial ends, so a long study is never silent."""

    def __init__(self, plan: StudyPlan, worker: int):
        self.plan, self.worker = plan, worker

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.user_attrs.get("surplus"):
            return
        seconds = (trial.duration.total_seconds() if trial.duration is not None else 0.0)
        score = f"dev CCC {trial.value:.3f}" if trial.value is not None else ""
        if trial.state == TrialState.PRUNED and trial.intermediate_values:
            last = max(trial.intermediate_values)
            score = f"dev CCC {trial.intermediate_values[last]:.3f} at epoch {last}"
        reason = trial.user_attrs.get("fail_reason", "")
        print(f"study {study.study_name}: trial {trial.number} {trial.state.name} {score}"
              f"{reason} in {seconds:.0f} s (worker {self.worker}; "
              f"{format_params(trial.params)}) [{count(study, FINISHED)}/{self.plan.trials} "
              "finished]", flush=True)


def saturated(predictions) -> str:
    """Why a net's dev predictions are useless although finite, or "": a tanh output stuck at
    the label range's edge (|p| > 0.99 for most frames) or a constant output."""
    for target in TARGETS:
        values = predictions[f"{target}_pred"].to_numpy()
        if (abs(values) > SATURATED_LEVEL).mean() > SATURATED_SHARE:
            return (f"saturated: {target} predictions beyond ±{SATURATED_LEVEL} on "
                    f"{(abs(values) > SATURATED_LEVEL).mean():.0%} of dev frames")
        if values.std() < CONSTANT_STD:
            return f"constant: {target} predictions vary by less than {CONSTANT_STD}"
    return ""
