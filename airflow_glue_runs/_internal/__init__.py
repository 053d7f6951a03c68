"""The machinery behind the public modules: nothing under ``_internal`` is API and any of it may change.

One subpackage per concern: ``run`` (waiting policy and the run summary), ``start`` (building and sending a start:
options, arguments, reattach), ``polling`` (the triggerer's shared clients and batched poller, the worker's poll
loop), ``events`` (Glue's EventBridge events as hints to the poller), ``glue_logs`` (Glue's CloudWatch lines in the
task log) and ``lineage`` (OpenLineage). ``compat``, ``masking`` and ``console`` serve them all.
"""
