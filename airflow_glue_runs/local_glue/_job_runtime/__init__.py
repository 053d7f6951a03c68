"""What the local Glue puts on a Python shell run's ``PYTHONPATH``: a small stand-in for Glue's ``awsglue``.

This directory (not the package above it) goes on the child's path, so the script imports ``awsglue`` as it
does on Glue. The provider itself never imports ``awsglue``: here it is ``..._job_runtime.awsglue`` only.
"""
