"""Input data: CSV tables, order lines, datasets, demo data."""
