"""Datasets: tables, stand-in generators, thesis-CSV import/export, splits and views."""
