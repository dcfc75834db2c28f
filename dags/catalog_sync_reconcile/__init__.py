"""Helpers of the ``catalog_reconciliation`` DAG (``dags/catalog_reconciliation.py``).

Listed in ``dags/.airflowignore``: the DAG processor never parses this package, the DAG file imports it
only inside its tasks, so parsing the DAG costs no AWS call and no Variable read.

Where to look:

- ``settings``  -- every Airflow Variable the DAG reads, with its default, and how bucket/queue names
  default to the CloudFormation stack's outputs.
- ``contract``  -- the two JSON Schemas shared with the TypeScript worker (symlinked beside this file)
  and the sweep messages the DAG sends.
- ``decisions`` -- pure functions: what is a straggler, what is stuck, what is delivered and may be
  archived, which health threshold is crossed, the metric values. No I/O, no clock: every function
  takes the run's anchor time.
- ``storage``   -- the S3/SQS/CloudWatch I/O (boto3 clients from the Amazon provider's hooks),
  PutMetricData included.
- ``failpoints`` -- named places where a test makes a task raise or die (``CATALOG_SYNC_FAILPOINTS``).
- ``sweep``     -- one function per task: read, decide, act, return a small report (the XCom).
- ``alerts``    -- a failed task's message to the alarm topic (SNS), when one is configured.
"""
