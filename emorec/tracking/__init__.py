"""MLflow and the database stores: opening a store within a bounded wait, every MLflow write
(sweeps and tuning studies), and results rows checked against their runs."""
