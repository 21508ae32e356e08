"""A suite's sweep, or an Optuna study's workers, as a Slurm job array.

A job folder holds everything of one sweep: ``job.json`` (what was asked: :mod:`.job`),
``plans/`` (the shard plans: every cell's expected fit time, fixed when the folder is made, so
every task and every resubmission takes the same cells: :mod:`.job_folder`), ``array.sbatch``
(task i runs ``emorec bench SUITE --shard i+1/N`` into ``shards/<i+1>``), ``merge.sbatch``
(after the array, whatever its end: ``emorec slurm SUITE --merge``, which merges the shards,
makes the suite's late fusion and renders the leaderboard; the scripts: :mod:`.scripts`) and
``logs/``. :mod:`.submit` hands the scripts to sbatch. State comes from the results rows alone,
not from Slurm's accounting (:mod:`.shards`): a task that is cancelled, times out or is
requeued reruns only the cells its folder lacks when it runs again."""
