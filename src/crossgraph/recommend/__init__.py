"""Serving-side logic on a loaded artifact: ranking, peer evidence, drivers, fallbacks (no HTTP)."""
