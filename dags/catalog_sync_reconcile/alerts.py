"""Task-failure notification to the stage's alarm topic (SNS), beside Airflow's own alerting.

A failed task (after its retries) publishes one message naming the DAG, the task, the run and the
error, e.g. the health thresholds crossed. Off while ``catalog_sync_alarm_topic_arn`` is empty. A
failure to publish is logged and swallowed: it must not hide the task's own failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)
SUBJECT_LIMIT = 100  # SNS subject: at most 100 characters


def failure_message(context: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, body) of the notification for a failed task instance."""
    ti = context["ti"]
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    error = context.get("exception")
    subject = f"catalog-sync: {dag_id}.{task_id} failed"[:SUBJECT_LIMIT]
    body = "\n".join(
        [
            f"DAG {dag_id}, task {task_id} failed.",
            f"Run: {getattr(ti, 'run_id', '?')}, try {getattr(ti, 'try_number', '?')}.",
            f"Error: {error}" if error else "Error: see the task log.",
            "The task log and the summary task's XCom carry every count.",
        ]
    )
    return subject, body


def notify_failure(context: Mapping[str, Any], get_variable: Callable[[str, str], Any]) -> bool:
    """Publishes the failure when a topic is configured; True when a message was sent."""
    topic = str(get_variable("catalog_sync_alarm_topic_arn", "")).strip()
    if not topic:
        return False
    subject, body = failure_message(context)
    try:
        from airflow.providers.amazon.aws.hooks.sns import SnsHook

        conn_id = str(get_variable("catalog_sync_aws_conn_id", "aws_default"))
        SnsHook(aws_conn_id=conn_id).publish_to_target(target_arn=topic, message=body, subject=subject)
    except Exception:  # noqa: BLE001 - the task already failed; its own error is what matters
        log.exception("could not publish the failure of %s to %s", subject, topic)
        return False
    return True
