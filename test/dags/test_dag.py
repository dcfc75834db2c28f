"""The DAG itself under real Airflow 3: parsing without side effects, and whole runs with ``dag.test()``.

``dag.test()`` runs the tasks in this process against the moto server, reading the Variables from
``AIRFLOW_VAR_*`` and the connection from ``AIRFLOW_CONN_AWS_DEFAULT`` like any Airflow deployment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from conftest import DAGS_FOLDER, REGION
from sweep_helpers import World, manifest_body, minutes, source

DAG_ID = "catalog_reconciliation"
DAG_FILE = DAGS_FOLDER / "catalog_reconciliation.py"

_PARSE_PROBE = textwrap.dedent(
    """
    import json, sys
    import botocore.client
    from airflow.sdk import Variable
    try:
        from airflow.dag_processing.dagbag import DagBag   # Airflow 3.1+
    except ImportError:
        from airflow.models.dagbag import DagBag           # 2.x, 3.0

    clients, variables = [], []
    real_create = botocore.client.ClientCreator.create_client
    def create_client(self, service_name, *args, **kwargs):
        clients.append(service_name)
        return real_create(self, service_name, *args, **kwargs)
    botocore.client.ClientCreator.create_client = create_client
    real_get = Variable.get.__func__
    Variable.get = classmethod(lambda cls, key, *a, **k: variables.append(key) or real_get(cls, key, *a, **k))

    bag = DagBag(dag_folder=sys.argv[1])
    dag = bag.dags.get(sys.argv[2])
    print(json.dumps({
        "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
        "dags": sorted(bag.dags),
        "files": sorted(s.file for s in bag.dagbag_stats),
        "clients": clients,
        "variables": variables,
        "helpers_imported": "catalog_sync_reconcile" in sys.modules,
        "tasks": sorted(dag.task_ids) if dag else None,
    }))
    """
)


def test_dag_parses_without_errors_aws_calls_or_variable_reads() -> None:
    """Parsed in a fresh interpreter, as the DAG processor does: nothing is imported or created early."""
    done = subprocess.run(
        [sys.executable, "-c", _PARSE_PROBE, str(DAGS_FOLDER), DAG_ID], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["import_errors"] == {}
    assert result["dags"] == [DAG_ID]
    assert [f.rsplit("/", 1)[-1] for f in result["files"]] == ["catalog_reconciliation.py"]  # .airflowignore
    assert result["clients"] == []
    assert result["variables"] == []
    assert result["helpers_imported"] is False
    assert result["tasks"] == ["archive", "drift", "health", "stragglers", "stuck", "summary"]


def _load_dag() -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.0
        from airflow.models.dagbag import DagBag
    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags[DAG_ID]


def test_dag_schedule_and_retry_policy() -> None:
    from airflow.sdk import CronTriggerTimetable

    dag = _load_dag()
    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert (dag.timetable.expression, str(dag.timetable.timezone)) == ("30 * * * *", "UTC")  # hourly
    assert dag.catchup is False and dag.max_active_runs == 1
    assert dag.dagrun_timeout == timedelta(minutes=50)
    for task_id in ("stragglers", "stuck", "archive", "health", "drift"):
        task = dag.get_task(task_id)
        assert task.retries == 2 and task.retry_exponential_backoff
        assert task.max_retry_delay == timedelta(minutes=10)
        assert task.downstream_task_ids == {"summary"} and not task.upstream_task_ids
    summary = dag.get_task("summary")
    assert summary.trigger_rule == "all_done" and summary.retries == 0


def _test_run(anchor: datetime) -> Any:
    dag = _load_dag()
    for task in dag.tasks:
        task.retries = 0  # dag.test() would wait out the retry delays
    return dag.test(logical_date=anchor)


def _states(dr: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dr.get_task_instances()}


def _summary_xcom(dr: Any) -> dict[str, Any]:
    return dr.get_task_instance("summary").xcom_pull(task_ids="summary")


def test_whole_dag_runs_sweep_succeed_and_a_second_run_changes_nothing(stack: Any, airflow_db: str, dag_variables: Any) -> None:
    w = World(stack)
    lost, done = w.put_landing("lost.csv"), w.put_landing("done.csv")
    anchor = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(microsecond=0)
    body = manifest_body("finished", [source(done, rejected=1)], at=anchor - minutes(20), items_rejected=2)
    manifest = w.put_manifest(body)
    w.drain()
    dag_variables()

    dr = _test_run(anchor)

    assert dr.state == "success", _states(dr)
    assert set(_states(dr).values()) == {"success"}
    messages = w.sweep_messages()
    assert [(m["kind"], m["key"], m["reason"]) for m in messages if m["kind"] != "catalog-sync.drift-check"] == [
        ("catalog-sync.straggler", lost.key, "no-manifest")
    ]
    # The drift schedule's first run asks the worker for a drift check (then once a day).
    assert [m["kind"] for m in messages if m["kind"] == "catalog-sync.drift-check"] == ["catalog-sync.drift-check"]
    assert w.landing_keys() == {lost.key} and w.archive_keys() == {"archive/done.csv"}
    assert w.manifest(manifest)["state"] == "archived"
    summary = _summary_xcom(dr)
    assert summary["problems"] == []
    assert summary["stragglers"]["sent"] == 1 and summary["archive"]["moved"] == 1
    assert summary["archive"]["manifestsArchived"] == 1 and summary["stuck"]["sent"] == 0
    assert (summary["health"]["rowsRejectedLastHour"], summary["health"]["itemsRejectedLastHour"]) == (1, 2)
    assert summary["health"]["anchor"] == anchor.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    # A second run right after the first changes nothing and sends nothing.
    before = w.snapshot()
    again = _test_run(anchor + minutes(1))
    assert again.state == "success", _states(again)
    assert w.snapshot() == before and w.sweep_messages() == []
    assert _summary_xcom(again)["stragglers"]["recentlySent"] == 1


def test_failed_health_check_fails_the_run_but_every_task_still_reports(
    stack: Any, airflow_db: str, dag_variables: Any
) -> None:
    w = World(stack)
    done = w.put_landing("done.csv")
    anchor = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(microsecond=0)
    w.put_manifest(manifest_body("finished", [source(done)], at=anchor - minutes(20)))
    stack.sqs.send_message(QueueUrl=stack.dlq_url, MessageBody='{"why": "test"}')
    w.drain()
    # Stand-ins for the stage's alarm topic (infra/observability.yml) and an e-mail subscriber.
    sns = boto3.client("sns", endpoint_url=stack.endpoint, region_name=REGION)
    topic = sns.create_topic(Name=f"catalog-sync-{stack.stage}-alarms")["TopicArn"]
    inbox = stack.sqs.create_queue(QueueName=f"{stack.stage}-alarm-inbox")["QueueUrl"]
    inbox_arn = stack.sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})
    dag_variables(alarm_topic_arn=topic)

    dr = _test_run(anchor)

    assert dr.state == "failed"
    assert _states(dr) == {
        "stragglers": "success",
        "stuck": "success",
        "archive": "success",
        "health": "failed",
        "drift": "success",
        "summary": "failed",
    }
    assert w.archive_keys() == {"archive/done.csv"}  # the other tasks did their work
    summary = _summary_xcom(dr)
    breach = "DLQ depth is 1 messages, above catalog_sync_max_dlq_messages=0 by 1 messages"
    assert summary["problems"] == [f"health: {breach}"]
    assert summary["health"]["dlqMessages"] == 1 and summary["archive"]["moved"] == 1
    # One alarm, from health (summary fails only as its consequence and does not notify again).
    alarms = World(stack).drain(inbox)
    assert len(alarms) == 1, alarms
    assert "task health failed" in alarms[0] and breach in alarms[0]


@pytest.mark.parametrize("with_interval", [True, False])
def test_run_anchor_is_the_interval_end_or_run_after(with_interval: bool) -> None:
    from catalog_sync_reconcile.model import sweep_anchor

    class DagRun:
        run_after = datetime(2026, 11, 25, 17, 30, 5, tzinfo=timezone.utc)

    end = datetime(2026, 11, 25, 17, 30, tzinfo=timezone.utc)
    context = {"dag_run": DagRun(), **({"data_interval_end": end} if with_interval else {})}
    assert sweep_anchor(context) == (end if with_interval else DagRun.run_after)


def test_unknown_fate_and_unsupported_files_in_a_whole_run(stack: Any, airflow_db: str, dag_variables: Any) -> None:
    """Unknown is not delivered, end to end under Airflow: the legacy manifest's file stays, the worker is
    asked to re-check it, health fails naming it, and the summary lists it with the unsupported key."""
    w = World(stack)
    done, legacy = w.put_landing("done.csv"), w.put_landing("legacy.csv")
    w.put_landing_key("landing/notes.txt")
    anchor = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(microsecond=0)
    w.put_manifest(manifest_body("finished", [source(done)], at=anchor - minutes(20)))
    legacy_body = manifest_body(
        "finished", [source(legacy)], at=anchor - minutes(170), submitted=anchor - minutes(180), unknown=4
    )
    legacy_key = w.put_manifest(legacy_body)
    w.drain()
    dag_variables(metrics_namespace=f"CatalogSync/test-{stack.stage}")

    dr = _test_run(anchor)

    assert dr.state == "failed"
    assert _states(dr) == {
        "stragglers": "success",
        "stuck": "success",
        "archive": "success",
        "health": "failed",
        "drift": "success",
        "summary": "failed",
    }
    assert w.landing_keys() == {legacy.key, "landing/notes.txt"} and w.archive_keys() == {"archive/done.csv"}
    assert w.manifest(legacy_key)["state"] == "finished"
    rechecks = [m for m in w.sweep_messages() if m["kind"] != "catalog-sync.drift-check"]
    assert [(m["kind"], m["manifestKey"]) for m in rechecks] == [("catalog-sync.status-recheck", legacy_key)]
    summary = _summary_xcom(dr)
    assert summary["problems"] == [
        "health: items of unknown fate sent 120+ minutes ago is 4 items, above "
        f"catalog_sync_max_items_unknown_fate=0 by 4 items: {legacy_key} (finished, 4)"
    ]
    assert summary["warnings"] == [
        "unsupported files in landing/ (not CSV: not sent, not archived): 1: landing/notes.txt",
        f"finished manifests with items of unknown fate (their files stay in landing/, re-checked): 1: {legacy_key}",
    ]
    assert summary["health"]["metricsPublished"] is True
    assert summary["health"]["metrics"]["ItemsUnknownFate"] == 4
