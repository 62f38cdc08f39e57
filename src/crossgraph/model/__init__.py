"""Models: ALS, baselines, metrics, artifacts and the registry."""
