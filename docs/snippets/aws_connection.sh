export AIRFLOW_CONN_AWS_DEFAULT='{"conn_type": "aws", "extra": {"region_name": "eu-west-1", "role_arn": "arn:aws:iam::123456789012:role/airflow-glue"}}'
airflow dags test example_glue_fanout
