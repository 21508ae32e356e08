"""What a model's leaderboard row shows besides its name, declared as data beside the registry:
which params get a column of their own (window, pooling), which param values make a model read
future frames (offline), and what the thesis's tables call it; its description goes with them
(the HTML site's model cards).

The bench writes these facts for every registered model beside the result files
(:mod:`emorec.store.facts`), so tables and figures are rendered from the results folder alone
and match no parameter names. (The facts sit here rather than in :class:`ModelSpec` because
``models/base.py`` is part of every model's code fingerprint: changing it would make every
committed row stale.) A plugin declares its own with :func:`declare`; undeclared models show
whichever of ``window`` and ``pooling`` they have.
"""

from __future__ import annotations

from dataclasses import dataclass

from emorec.store.facts import ModelFacts

SHOWN_BY_DEFAULT = ("window", "pooling")


@dataclass(frozen=True)
class Shown:
    columns: tuple[str, ...] | None = None   # None: those of SHOWN_BY_DEFAULT it declares
    offline_when: tuple[tuple[str, object], ...] = ()   # (param, value): reads future frames
    thesis_names: tuple[str, ...] = ()        # the thesis's names for this model, if it ran it


_BIDIRECTIONAL = (("direction", "bidirectional"),)
_DECLARED: dict[str, Shown] = {
    "gru": Shown(thesis_names=("gru_avg", "gru_max", "gru_conv1d")),
    "seq_video": Shown(offline_when=_BIDIRECTIONAL),
    "seq_audio": Shown(offline_when=_BIDIRECTIONAL),
    "seq_fusion": Shown(offline_when=_BIDIRECTIONAL),
    **{name: Shown(thesis_names=(name,)) for name in (
        "bayesian_ridge", "svr", "decision_tree", "ffnn", "audio_ffnn", "fusion1", "fusion2",
        "fusion3", "fusion4_v1", "fusion4_v2", "fusion4_v3")},
}


def declare(model: str, shown: Shown) -> None:
    """Declare what ``model``'s rows show (a plugin, after registering its model)."""
    _DECLARED[model] = shown


def shown_columns(spec) -> tuple[str, ...]:
    """The params of model ``spec`` (a ModelSpec) that leaderboards show in their own columns."""
    declared = _DECLARED.get(spec.name, Shown()).columns
    return (tuple(p for p in SHOWN_BY_DEFAULT if p in spec.declared) if declared is None
            else declared)


def model_facts(spec) -> ModelFacts:
    """Model ``spec``'s facts, as written beside the results."""
    shown = _DECLARED.get(spec.name, Shown())
    return ModelFacts(columns=shown_columns(spec), offline_when=shown.offline_when,
                      thesis_names=shown.thesis_names, description=spec.description,
                      family=spec.family, modality=spec.modality, source=spec.source)


