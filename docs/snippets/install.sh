AIRFLOW_VERSION=3.3.2 PYTHON_VERSION=3.11
pip install airflow-glue-runs \
  --constraint "https://raw.githubusercontent.com/apache/airflow/constraints-${AIRFLOW_VERSION}/constraints-${PYTHON_VERSION}.txt"
pip install 'airflow-glue-runs[local]'   # adds moto's server for the local Glue, for your own DAG tests
