"""Float baselines from other libraries, behind thin adapters imported lazily (optional extras)."""
