"""The model registry. Importing this package registers every model."""

from emorec.models import classic, ffnn, fusion, gru, reference  # noqa: F401  (registration)
from emorec.models.base import MODELS, ModelSpec, build_view, changed_params, model

__all__ = ["MODELS", "ModelSpec", "build_view", "changed_params", "model"]
