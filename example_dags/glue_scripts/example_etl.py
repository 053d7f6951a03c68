"""The Glue script of example_glue_job_definition: GlueJobDefinitionOperator uploads it to S3 by its content hash.

Not a DAG (``example_dags/.airflowignore`` keeps Airflow from parsing this folder). On AWS it runs as a Glue ETL
job; the local Glue does not run scripts, it plays the run its ``--local-glue-*`` arguments describe.
"""

import sys

from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]

args = getResolvedOptions(sys.argv, ["day", "source"])
print(f"Transforming {args['source']} for {args['day']}")
