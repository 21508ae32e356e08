"""What a results folder holds: the results file (one row per cell), every cell's kept dev and
test predictions, and the facts beside them (``models.json``, ``datasets.json``)."""
