"""A stand-in for AWS Glue's ``awsglue`` package in local Python shell runs: only ``awsglue.utils``.

Glue's Python shell runtime ships the real package; the local Glue ships this one, which has just
``getResolvedOptions`` (and its ``GlueArgumentError``), the part a Python shell script uses.
"""
