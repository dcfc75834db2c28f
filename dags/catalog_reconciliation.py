"""catalog-sync hourly reconciliation: the sweep that makes the event-driven path complete.

The TypeScript worker turns S3 events into Meta catalog batches and records each flush in a manifest
(``s3://<synced>/synced/manifests/<hour>/<id>.json``, schema ``schemas/manifest.schema.json``). Events
can be lost, workers can die and Meta can go quiet; once an hour this DAG looks at what landed and at
what the manifests say, and only moves S3 objects and sends messages to the worker's queue. It never
calls Meta: one code path (the worker) does catalog work.

Tasks (independent; ``summary`` runs whatever happened to them):

- ``stragglers``: landing CSV files (``.csv`` in any letter case) older than the grace period that no
  manifest covers, or whose manifest never reached ``submitted`` -> a ``catalog-sync.straggler``
  message each (not again within the grace period: a marker under ``synced/sweep/`` remembers it).
- ``stuck``: manifests ``submitted`` longer than the threshold and not final, and manifests
  ``finished`` with items of unknown fate (``counts.unknown > 0``) -> a ``catalog-sync.status-recheck``
  message each (same marker rule, period = the threshold): the worker re-polls or retries those items.
- ``archive``: landing files that are *delivered* -> copy to ``archive/``, verify size and checksum,
  delete the landing version; delivered manifests whose sources all moved -> ``archived``. Delivered:
  every covering manifest (abandoned ones aside) is ``finished``/``archived`` with ``counts.unknown``
  0 (a missing or malformed ``counts`` is not delivered). Unknown is not delivered: a file one of
  whose manifests has items of unknown fate stays in ``landing/``.
- ``health``: DLQ depth, age of the queue's oldest message, rejected rows/items of the last hour, items
  of unknown fate in manifests sent at least ``unknown_fate_after_minutes`` ago -> fails above
  thresholds, saying which, by how much and (unknown fate) in which manifests. Reports keys under the
  landing prefix that are not CSV files ("unsupported files in landing/": never sent, never moved).
  Publishes the run's metrics to CloudWatch (below); a failure to publish is a warning, not a failure.
- ``drift``: once per ``catalog_sync_drift_check_every_hours`` (a marker under ``synced/sweep/drift/``)
  -> a ``catalog-sync.drift-check`` message: the worker reads the catalog back from Meta, sends stale and
  missing items again through its send gate, reports (and, when configured, deletes) orphans, and writes a
  drift report under ``synced/drift/``. The DAG itself still never calls Meta.
- Held windows (a guardrail stopped them before anything was sent) are never re-enqueued or archived;
  ``health`` lists them and the summary warns until ``catalog-sync release`` or ``discard`` settles them.
  A discarded manifest is final: its files are archived.
- ``summary``: every task's counts in one log line and as XCom, plus ``warnings`` (unsupported landing
  files, finished manifests with items of unknown fate, metrics not published); fails the run when a
  task failed or a health threshold was crossed.

Metrics (PutMetricData by ``health``, namespace ``catalog_sync_metrics_namespace``, dimension
``service=reconciliation``; the stage's CloudWatch alarms use these names):

| Metric | value |
|---|---|
| ``OldestUndeliveredFileAgeSeconds`` | age (LastModified to anchor) of the oldest undelivered landing CSV; 0: none |
| ``ManifestsUnfinished`` | manifests not final past ``stuck_after_minutes`` (``decisions.unfinished_manifests``) |
| ``ItemsUnknownFate`` | items of unknown fate sent at least ``unknown_fate_after_minutes`` ago (health's count) |
| ``UnsupportedLandingFiles`` | keys under the landing prefix that are not CSV files |

Failpoints (tests only): ``CATALOG_SYNC_FAILPOINTS=name=raise|kill[@N],...`` makes the sweep fail or
die at a named place between two writes (``catalog_sync_reconcile/failpoints.py`` lists them); unset,
each point is one dictionary lookup.

Configuration: Airflow Variables, read inside the tasks (a change applies to the next run), each
with a default (``catalog_sync_reconcile/settings.py`` holds the list and the meanings):

| Variable | default |
|---|---|
| ``catalog_sync_aws_conn_id`` | ``aws_default`` (extra ``endpoint_url`` or ``AWS_ENDPOINT_URL``: local) |
| ``catalog_sync_stack_name`` | ``catalog-sync-dev``: its outputs name the buckets and queues |
| ``catalog_sync_landing_bucket``, ``catalog_sync_synced_bucket`` | empty: from the stack |
| ``catalog_sync_queue_url``, ``catalog_sync_dlq_url`` | empty: from the stack |
| ``catalog_sync_landing_prefix``, ``catalog_sync_landing_suffix`` | ``landing/``, ``.csv`` (any letter case) |
| ``catalog_sync_archive_prefix``, ``catalog_sync_synced_prefix`` | ``archive/``, ``synced/`` |
| ``catalog_sync_straggler_grace_minutes`` | 15 |
| ``catalog_sync_stuck_after_minutes`` | 30 |
| ``catalog_sync_stale_pending_minutes`` | 60 |
| ``catalog_sync_lookback_days`` | 7 |
| ``catalog_sync_max_actions_per_task`` | 1000 |
| ``catalog_sync_alarm_topic_arn`` | empty; set: a failed task publishes to this SNS topic |
| ``catalog_sync_metrics_namespace`` | ``CatalogSync`` (must not be empty) |
| ``catalog_sync_unknown_fate_after_minutes`` | 120 |
| ``catalog_sync_max_dlq_messages`` | 0 (-1 disables) |
| ``catalog_sync_max_oldest_message_minutes`` | 30 (-1 disables) |
| ``catalog_sync_max_rows_rejected_per_hour`` | 100 (-1 disables) |
| ``catalog_sync_max_items_rejected_per_hour`` | 100 (-1 disables) |
| ``catalog_sync_max_items_unknown_fate`` | 0 (-1 disables) |
| ``catalog_sync_drift_check_every_hours`` | 24 (0: no drift checks) |
| ``catalog_sync_drift_dry_run`` | false (true: drift checks only report) |

MWAA: needs no requirements.txt. It uses only what the MWAA 3.3.1 image installs: the Amazon provider
(9.34.0), boto3 and jsonschema (an Airflow core dependency). Deploy ``dags/`` as is: the helper package
comes along, its two schema files are symlinks to ``schemas/`` that the S3 sync copies as files.

Each run takes one anchor time (the data interval's end, else ``dag_run.run_after``), and judges ages
against it, so scheduled, manual and retried runs decide alike.

Lookback: to bound the work, only manifests whose S3 LastModified is after ``anchor - lookback_days``
are read (they expire after 30 days anyway). A landing file whose every manifest is older than that
looks uncovered and is re-sent as a straggler once per run; the worker then finds its rows unchanged
and sends nothing to Meta. Health counts rejections of the hour ``(anchor - 1h, anchor]``: rows by
the manifest's ``createdAt``, Meta's rejections by its ``finishedAt`` (each counted once). Items of
unknown fate are counted in submitted, finished and archived manifests by their ``submittedAt``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum

try:  # Airflow 3.x
    from airflow.sdk import TriggerRule, dag, get_current_context, task
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 2.10/2.11 (parses; CI runs Airflow 3 only)
    from airflow.decorators import dag, task
    from airflow.exceptions import AirflowFailException
    from airflow.operators.python import get_current_context
    from airflow.utils.trigger_rule import TriggerRule
try:  # Airflow 3.2+
    from airflow.sdk import CronTriggerTimetable
except ImportError:  # Airflow 3.0/3.1 and 2.x
    from airflow.timetables.trigger import CronTriggerTimetable

DAG_ID = "catalog_reconciliation"

#: Minute 30 of every hour: the top-of-hour exports have passed the worker by then, so their files archive
#: this hour. ``CATALOG_SYNC_SCHEDULE`` (a cron expression, read when the file is parsed) replaces it where
#: an hour is too long to wait: the sandbox runs the sweep every minute or two.
DEFAULT_SCHEDULE = "30 * * * *"


def _schedule() -> CronTriggerTimetable:
    expression = os.environ.get("CATALOG_SYNC_SCHEDULE", "").strip() or DEFAULT_SCHEDULE
    timetable = CronTriggerTimetable(expression, timezone="UTC")
    try:
        timetable.validate()
    except Exception as error:
        raise ValueError(
            f"CATALOG_SYNC_SCHEDULE={expression!r} is not a cron expression ({error}); "
            f"use five fields such as '*/2 * * * *', or unset it for the hourly default {DEFAULT_SCHEDULE!r}"
        ) from error
    return timetable


def _get_variable(name: str, default: str) -> Any:
    """Reads one Variable at run time (never at parse time: these helpers run inside tasks only)."""
    try:
        from airflow.sdk import Variable
    except ImportError:
        from airflow.models import Variable
    return Variable.get(name, default)


def _notify_failure(context: Any) -> None:
    """Publishes a task's final failure to the alarm topic (``catalog_sync_alarm_topic_arn``), if set."""
    from catalog_sync_reconcile.alerts import notify_failure

    notify_failure(context, _get_variable)


def _run(context: Any) -> Any:
    """Opens the task's view of this run: Variables, AWS clients, the run's anchor time.

    Imported here, not at the top: the DAG processor parses this file without touching AWS, Variables or
    the helper package (which ``.airflowignore`` hides from it).
    """
    from catalog_sync_reconcile.model import sweep_anchor
    from catalog_sync_reconcile.sweep import open_run

    return open_run(sweep_anchor(context), _get_variable)


default_args: dict[str, Any] = {
    "owner": "catalog-sync",
    # Transient AWS errors: 2 more tries, 1 then 2 minutes later (capped at 10), well inside the hour.
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(minutes=20),
    "on_failure_callback": _notify_failure,
}


@dag(
    dag_id=DAG_ID,
    description="Hourly sweep: stragglers, stuck batches, archiving, queue health (never calls Meta)",
    doc_md=__doc__,
    schedule=_schedule(),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=50),
    default_args=default_args,
    tags=["catalog-sync", "s3", "sqs"],
)
def catalog_reconciliation() -> None:
    @task
    def stragglers() -> dict[str, Any]:
        """Re-enqueue landing files no submitted manifest covers, once per grace period."""
        from catalog_sync_reconcile import sweep

        return sweep.stragglers(_run(get_current_context()))

    @task
    def stuck() -> dict[str, Any]:
        """Ask the worker to re-check manifests submitted too long ago or finished with unknown items."""
        from catalog_sync_reconcile import sweep

        return sweep.stuck(_run(get_current_context()))

    @task
    def archive() -> dict[str, Any]:
        """Move delivered files (no item of unknown fate) to archive/ and mark their manifests archived."""
        from catalog_sync_reconcile import sweep

        return sweep.archive(_run(get_current_context()))

    @task
    def health() -> dict[str, Any]:
        """Fail (so alerting fires) when DLQ, queue age, rejections or items of unknown fate cross their
        thresholds; publish the run's metrics.

        The report is pushed before failing, so ``summary`` shows the numbers; a threshold failure does
        not retry (``AirflowFailException``), an AWS error does.
        """
        from catalog_sync_reconcile import checks

        context = get_current_context()
        report = checks.health(_run(context))
        if report["breaches"]:
            context["ti"].xcom_push(key="return_value", value=report)
            raise AirflowFailException("health: " + "; ".join(b["message"] for b in report["breaches"]))
        return report

    # No failure callback: summary fails only because another task did, which has notified already.
    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0, on_failure_callback=None)
    def summary() -> dict[str, Any]:
        """Log every task's counts and return them; fail the run if a task failed (it is the leaf)."""
        import json
        import logging

        from catalog_sync_reconcile import checks, sweep

        context = get_current_context()
        ti = context["ti"]
        reports = {name: ti.xcom_pull(task_ids=name) for name in sweep.TASKS}
        combined, problems = checks.summarize(reports)
        log = logging.getLogger(__name__)
        log.info("catalog-sync reconciliation summary: %s", json.dumps(combined, sort_keys=True))
        for warning in combined["warnings"]:
            log.warning("catalog-sync reconciliation: %s", warning)
        if problems:
            ti.xcom_push(key="return_value", value=combined)
            raise AirflowFailException("; ".join(problems))
        return combined

    @task
    def drift() -> dict[str, Any]:
        """Ask the worker for a drift check (catalog read back, stale and missing items sent again) once
        per catalog_sync_drift_check_every_hours."""
        from catalog_sync_reconcile import sweep

        return sweep.drift(_run(get_current_context()))

    [stragglers(), stuck(), archive(), health(), drift()] >> summary()


catalog_reconciliation()
