"""The model registry. Importing this package registers every model of its modules."""

import importlib
import pkgutil

from emorec.models.base import MODELS, Estimator, ModelSpec, model
from emorec.models.params import Param

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["MODELS", "Estimator", "ModelSpec", "Param", "model"]
