from pathlib import Path

from airflow_glue_runs.local_glue import LocalGlueControl

# In another shell: python -m airflow_glue_runs.local_glue --port-file endpoint.txt
control = LocalGlueControl(Path("endpoint.txt").read_text().strip())
queue_url = control.create_event_queue()
control.set_event_faults(delay_seconds=5)
