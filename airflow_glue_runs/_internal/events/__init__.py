"""Glue's EventBridge events as hints in the triggerer: an SQS consumer that has the batched poller read a run soon.

Events are hints, never state: a run an event names is read and judged as on any poll (``settings``: the triggerer's
configuration; ``messages``: what an SQS message says; ``consumer``: the shared consumer and its health).
"""
