"""Online experiments: traffic split by a stable hash of the account id, and per-arm statistics."""
