"""How long to wait for a run and what its end means for the task: the waiting policy and the run summary."""
