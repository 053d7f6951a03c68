"""Job results: the JSON object a Glue job writes to S3 for its task, where it goes and how the task reads it."""
