"""A suite swept: its file checked whole, its cells planned, shared out over shards or a Slurm
array, fitted in worker processes and recorded, with a progress bar weighted by fit time."""
