"""Glue's job run events from a local Glue: a queue that receives them, the fault switches, a boto3 read."""

import json

import boto3

from airflow_glue_runs.local_glue import LocalGlue

with LocalGlue() as local_glue:  # or the local_glue fixture of your tests
    # --8<-- [start:queue]
    queue_url = local_glue.create_event_queue("glue-events")
    # --8<-- [end:queue]
    # --8<-- [start:queues]
    queues = [local_glue.create_event_queue(f"triggerer-{n}") for n in range(2)]
    # --8<-- [end:queues]
    # --8<-- [start:faults]
    local_glue.set_event_faults(
        drop_next=0,         # drop the next N events
        drop_rate=0.0,       # then drop each event with this probability (0.0 to 1.0; 1.0 drops all)
        duplicate_next=0,    # send the next N events (that were not dropped) twice
        duplicate_rate=0.0,  # then send each event twice with this probability
        delay_seconds=0.0,   # send every event this many seconds after the run's end (local Glue's clock)
        jitter_seconds=0.0,  # add a random 0..jitter_seconds to each copy: close ends may arrive out of order
        job_name=None,       # apply the switches to this job's events only (None: every job)
        seed=0,              # seed of the random draws (rates and jitter): the same faults every time
    )
    # --8<-- [end:faults]
    local_glue.create_job("nightly", default_arguments={"--local-glue-duration": "0"})
    run_id = local_glue.client().start_job_run(JobName="nightly")["JobRunId"]
    # --8<-- [start:read]
    sqs = boto3.client(
        "sqs",
        endpoint_url=local_glue.endpoint_url,
        region_name=local_glue.region_name,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=20)["Messages"]
    # --8<-- [end:read]
    event = json.loads(messages[0]["Body"])
    counts = local_glue.event_counts()
    received = [sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", []) for url in queues]
