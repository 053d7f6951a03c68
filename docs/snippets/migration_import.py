# from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
# from airflow.providers.amazon.aws.sensors.glue import GlueJobSensor
from airflow_glue_runs.amazon import GlueJobOperator, GlueJobSensor
