"""The model registry. Importing this package registers every model the modules of
:mod:`emorec.models.zoo` declare, without importing torch: a net's code is imported when its
factory is first called."""

import importlib
import pkgutil

from emorec.models import zoo
from emorec.models.base import MODELS, Estimator, ModelSpec, model
from emorec.models.params import Param

for _module in pkgutil.iter_modules(zoo.__path__):
    importlib.import_module(f"{zoo.__name__}.{_module.name}")

__all__ = ["MODELS", "Estimator", "ModelSpec", "Param", "model"]
