"""Helpers of the ``catalog_reconciliation`` DAG (``dags/catalog_reconciliation.py``).

Listed in ``dags/.airflowignore``: the DAG processor never parses this package, the DAG file imports it
only inside its tasks, so parsing the DAG costs no AWS call and no Variable read.

Where to look:

- ``settings``  -- every Airflow Variable the DAG reads, with its default, and how bucket/queue names
  default to the CloudFormation stack's outputs.
- ``contract``  -- the JSON Schemas shared with the TypeScript worker (symlinked beside this file) and
  the sweep messages the DAG sends; ``layout`` -- every S3 key, from ``schemas/storage-layout.json``
  (symlinked too).
- ``model``     -- what the sweep reads, as values (landing files, manifests, their states).
- ``decisions`` -- pure functions: what is a straggler, what is stuck, what is delivered and may be
  archived. ``health`` -- which health threshold is crossed, the metric values. No I/O, no clock: every
  function takes the run's anchor time.
- ``storage``   -- the S3/SQS I/O (listings, manifests, markers, messages); ``archive`` -- moving files
  to archive/; ``monitoring`` -- CloudWatch metrics and queue depth; ``aws`` -- boto3 clients from the
  Amazon provider's hooks.
- ``failpoints`` -- named places where a test makes a task raise or die (``CATALOG_SYNC_FAILPOINTS``).
- ``sweep``     -- one function per delivery task: read, decide, act, return a small report (the XCom);
  ``checks`` -- the health task and the run's summary.
- ``alerts``    -- a failed task's message to the alarm topic (SNS), when one is configured.
"""
