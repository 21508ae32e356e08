"""Optuna studies over a registered model's search space.

- :mod:`~emorec.tuning.space`: sampling a model's declared search space;
- :mod:`~emorec.tuning.study`: storages, the study's life cycle, the objective and the workers;
- :mod:`~emorec.tuning.liveness`: which trials belong to workers that are gone;
- :mod:`~emorec.tuning.tuned`: a study's best trial, for ``emorec bench --params-from``.

Importing this package (or ``tuned``) does not import Optuna.
"""

DEFAULT_STORAGE = "optuna.journal"   # a journal file next to mlflow.db
