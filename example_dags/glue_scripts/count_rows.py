"""A Glue Python shell job: count the rows of a CSV in S3 and hand the count back to Airflow.

``write_result`` comes from ``glue_job_result.py``, the file airflow-glue-runs ships for this (the job's
``--extra-py-files`` names it). Outside a run started by the operator it prints one line and writes nothing, so
the script runs anywhere.
"""

import csv
import io
import sys

import boto3
from awsglue.utils import getResolvedOptions
from glue_job_result import write_result

args = getResolvedOptions(sys.argv, ["input"])
bucket, _, key = args["input"].removeprefix("s3://").partition("/")
body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
rows = list(csv.DictReader(io.StringIO(body)))
print(f"Counted {len(rows)} rows in {args['input']}")
write_result({"rows": len(rows), "input": args["input"], "columns": list(rows[0]) if rows else []})
