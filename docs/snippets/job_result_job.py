from glue_job_result import write_result

write_result({"rows": 1234, "output": "s3://my-bucket/out/2026-01-01/"})
