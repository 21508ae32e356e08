"""Optuna studies over a registered model's search space.

- :mod:`~emorec.tuning.space`: sampling a model's declared search space;
- :mod:`~emorec.tuning.plan`: what a study is asked to do, its sampler and pruner settings;
- :mod:`~emorec.tuning.storage`: a study's storage (database or journal file), the study opened;
- :mod:`~emorec.tuning.objective`: what a trial computes (dev CCC) and the line it prints;
- :mod:`~emorec.tuning.workers`: the workers that run exactly ``trials`` finished trials;
- :mod:`~emorec.tuning.study_runs`: the study's MLflow runs and where to look at them;
- :mod:`~emorec.tuning.study`: the study's life cycle, from the checked request to its logging;
- :mod:`~emorec.tuning.liveness`: which trials belong to workers that are gone;
- :mod:`~emorec.tuning.tuned`: a study's best trial, for ``emorec bench --params-from``.

Importing this package (or ``tuned``) does not import Optuna.
"""

DEFAULT_STORAGE = "optuna.journal"   # a journal file next to mlflow.db
