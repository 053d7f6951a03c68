"""Building and sending a StartJobRun: run options, job arguments, and starting each run at most once (reattach)."""
