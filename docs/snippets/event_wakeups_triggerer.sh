# on the host (or container) of triggerer 1
export AIRFLOW__GLUE_RUNS__EVENT_QUEUE_URL=https://sqs.eu-west-1.amazonaws.com/123456789012/airflow-glue-events-triggerer-1
export AIRFLOW__GLUE_RUNS__EVENT_SAFETY_INTERVAL=300
airflow triggerer
