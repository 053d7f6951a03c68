"""OpenLineage: the parent-job and transport settings injected into a run, and the run's facets."""
