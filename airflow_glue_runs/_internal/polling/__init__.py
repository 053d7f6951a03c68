"""Reading runs while they go: the triggerer's shared aiobotocore clients and batched poller, the worker's poll loop."""
