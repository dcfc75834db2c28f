"""Delivery, landing keys and metrics of the sweep against moto (issue "correct under every failure").

- Unknown is not delivered: a finished manifest with items of unknown fate keeps its files in landing/,
  gets a status re-check, and is named by health and the summary.
- Health counts items of unknown fate past ``unknown_fate_after_minutes`` and names the manifests.
- ``.csv`` in any letter case is a CSV file; other keys under landing/ are reported, never touched.
- Each run publishes its metrics to CloudWatch (read back here); failing to publish fails nothing.

Like ``test_sweep_moto.py``, the runs are anchored an hour after the uploads (moto stamps LastModified
with the real time) and manifest times are written relative to that anchor.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from catalog_sync_reconcile import checks, sweep
from catalog_sync_reconcile.contract import RECHECK_KIND, STRAGGLER_KIND
from catalog_sync_reconcile.health import METRIC_UNITS
from catalog_sync_reconcile.aws import Clients
from sweep_helpers import World, csv_body, manifest_body, minutes, source
from test_sweep_moto import _S3Proxy, run_all, run_at


def _finish(stack: Any, w: World, key: str) -> None:
    """The worker learns every item's fate: accepted, nothing unknown any more."""
    body = w.manifest(key)
    counts = {**body["counts"], "accepted": body["counts"]["items"] - body["counts"]["rejected"], "unknown": 0}
    data = json.dumps({**body, "counts": counts}).encode()
    stack.s3.put_object(Bucket=stack.synced_bucket, Key=key, Body=data, ContentType="application/json")


def test_finished_manifest_with_unknown_items_keeps_its_files_and_is_rechecked_until_delivered(stack: Any) -> None:
    w = World(stack)
    done, legacy, shared = w.put_landing("done.csv"), w.put_landing("legacy.csv"), w.put_landing("shared.csv")
    anchor = datetime.now(timezone.utc) + timedelta(hours=1)
    m_done = w.put_manifest(manifest_body("finished", [source(done)], at=anchor - minutes(20)))
    # Written by today's worker: finished although Meta's answer for 3 items never came.
    m_legacy = w.put_manifest(
        manifest_body(
            "finished", [source(legacy)], at=anchor - minutes(170), submitted=anchor - minutes(180), unknown=3
        )
    )
    # A file in two manifests: one delivered, one with an item of unknown fate (sent 40 minutes ago).
    m_shared_ok = w.put_manifest(manifest_body("finished", [source(shared)], at=anchor - minutes(20)))
    m_shared_unknown = w.put_manifest(
        manifest_body("finished", [source(shared)], at=anchor - minutes(20), submitted=anchor - minutes(40), unknown=1)
    )
    w.drain()

    reports = run_all(run_at(stack, anchor))

    assert w.landing_keys() == {legacy.key, shared.key}
    assert w.archive_keys() == {"archive/done.csv"}
    states = {k: w.manifest(k)["state"] for k in (m_done, m_legacy, m_shared_ok, m_shared_unknown)}
    assert states == {m_done: "archived", m_legacy: "finished", m_shared_ok: "finished", m_shared_unknown: "finished"}
    messages = w.sweep_messages()
    rechecked = sorted(m["manifestKey"] for m in messages if m["kind"] == RECHECK_KIND)
    assert rechecked == sorted([m_legacy, m_shared_unknown])
    assert [m for m in messages if m["kind"] == STRAGGLER_KIND] == []  # covered: the worker owns them
    assert reports["archive"]["unknownFate"] == 2 and reports["archive"]["moved"] == 1
    assert reports["stuck"]["unknownFate"] == 2 and reports["stuck"]["sent"] == 2
    assert reports["stuck"]["unknownFateKeys"] == sorted([m_legacy, m_shared_unknown])

    health = reports["health"]
    # Only the legacy manifest's items were sent more than 2 hours ago (catalog_sync_unknown_fate_after_minutes).
    assert health["itemsUnknownFate"] == 3
    assert health["unknownFateManifests"] == [{"key": m_legacy, "state": "finished", "unknown": 3}]
    assert [b["message"] for b in health["breaches"]] == [
        "items of unknown fate sent 120+ minutes ago is 3 items, above catalog_sync_max_items_unknown_fate=0 "
        f"by 3 items: {m_legacy} (finished, 3)"
    ]
    assert health["finishedWithUnknownKeys"] == sorted([m_legacy, m_shared_unknown])
    summary, problems = checks.summarize(reports)
    assert problems == [f"health: {health['breaches'][0]['message']}"]
    assert summary["warnings"] == [
        "finished manifests with items of unknown fate (their files stay in landing/, re-checked): 2: "
        + ", ".join(sorted([m_legacy, m_shared_unknown]))
    ]

    # The same slot retried: nothing is sent again (recheck markers), nothing moves.
    before = w.snapshot()
    again = run_all(run_at(stack, anchor))
    assert w.snapshot() == before and w.sweep_messages() == []
    assert again["stuck"]["recentlySent"] == 2

    # The worker retries the unknown items and learns their fate: the files move, markers go.
    _finish(stack, w, m_legacy)
    _finish(stack, w, m_shared_unknown)
    later = run_all(run_at(stack, anchor + minutes(1)))
    assert w.landing_keys() == set()
    assert w.archive_keys() == {"archive/done.csv", "archive/legacy.csv", "archive/shared.csv"}
    assert {w.manifest(k)["state"] for k in (m_legacy, m_shared_ok, m_shared_unknown)} == {"archived"}
    assert later["archive"]["manifestsArchived"] == 3 and later["stuck"]["markersDeleted"] == 2
    assert later["health"]["breaches"] == [] and checks.summarize(later)[0]["warnings"] == []
    assert w.sweep_messages() == []


def test_csv_in_any_letter_case_is_a_file_and_other_keys_are_reported_not_touched(stack: Any) -> None:
    w = World(stack)
    upper, mixed, lower = w.put_landing("UPPER.CSV"), w.put_landing("2026/Mixed.Csv"), w.put_landing("lower.csv")
    w.put_landing_key("landing/notes.txt", b"remember the milk\n")
    w.put_landing_key("landing/data.csv.gz", gzip.compress(csv_body("z")))
    w.put_landing_key("landing/sub/", b"")  # a folder marker: neither a file nor unsupported
    w.drain()
    anchor = datetime.now(timezone.utc) + timedelta(hours=1)

    reports = run_all(run_at(stack, anchor))

    assert {m["key"]: m["reason"] for m in w.sweep_messages()} == {
        upper.key: "no-manifest",
        mixed.key: "no-manifest",
        lower.key: "no-manifest",
    }
    assert reports["stragglers"]["files"] == 3
    health = reports["health"]
    assert health["unsupportedLandingFiles"] == 2
    assert health["unsupportedLandingKeys"] == ["landing/data.csv.gz", "landing/notes.txt"]
    assert health["breaches"] == []  # a warning, not a failure
    assert checks.summarize(reports)[0]["warnings"] == [
        "unsupported files in landing/ (not CSV: not sent, not archived): 2: landing/data.csv.gz, landing/notes.txt"
    ]

    # The worker syncs the two upper/mixed-case files; they are archived like any other.
    for f in (upper, mixed):
        w.put_manifest(manifest_body("finished", [source(f)], at=anchor))
    report = sweep.archive(run_at(stack, anchor + minutes(1)))
    assert report["moved"] == 2
    assert w.archive_keys() == {"archive/UPPER.CSV", "archive/2026/Mixed.Csv"}
    assert w.body("archive/UPPER.CSV") == csv_body("UPPER.CSV")
    assert w.body("archive/2026/Mixed.Csv") == csv_body("2026/Mixed.Csv")
    assert w.landing_keys() == {lower.key, "landing/notes.txt", "landing/data.csv.gz", "landing/sub/"}
    # Re-runs never re-enqueue or move the unsupported keys.
    later = run_all(run_at(stack, anchor + minutes(30)))
    assert {m["key"] for m in w.sweep_messages()} == {lower.key}
    assert later["archive"]["moved"] == 0 and later["health"]["unsupportedLandingFiles"] == 2


def _read_metrics(stack: Any, namespace: str) -> dict[str, list[float]]:
    """GetMetricData of the namespace's four metrics over the last minutes.

    Queried without the dimension: moto 5.2 drops the namespace filter of a query that names dimensions
    (it would mix in other tests' datapoints); the dimension is checked through ListMetrics instead.
    """
    now = datetime.now(timezone.utc)
    queries = [
        {
            "Id": f"m{i}",
            "Label": name,
            "MetricStat": {
                "Metric": {"Namespace": namespace, "MetricName": name},
                "Period": 60,
                "Stat": "Maximum",
            },
        }
        for i, name in enumerate(METRIC_UNITS)
    ]
    got = stack.cloudwatch.get_metric_data(
        MetricDataQueries=queries, StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=10)
    )
    names = {f"m{i}": name for i, name in enumerate(METRIC_UNITS)}
    return {names[r["Id"]]: list(r["Values"]) for r in got["MetricDataResults"]}


def test_each_run_publishes_its_metrics_to_cloudwatch(stack: Any) -> None:
    w = World(stack)
    anchor = datetime.now(timezone.utc) + timedelta(hours=1)
    lost = w.put_landing("lost.csv")  # no manifest
    delivered = w.put_landing("delivered.csv")
    legacy = w.put_landing("legacy.csv")
    stuck = w.put_landing("stuck.csv")
    old = w.put_landing("old.csv")
    recent = w.put_landing("recent.csv")
    idle = w.put_landing("idle.csv")
    w.put_landing_key("landing/notes.txt")
    w.put_landing_key("landing/data.csv.gz")
    w.put_manifest(manifest_body("finished", [source(delivered)], at=anchor - minutes(20)))
    w.put_manifest(
        manifest_body(
            "finished", [source(legacy)], at=anchor - minutes(170), submitted=anchor - minutes(180), unknown=2
        )
    )
    w.put_manifest(manifest_body("submitted", [source(stuck)], at=anchor - minutes(45)))  # 10 unknown, < 2 h
    w.put_manifest(manifest_body("submitted", [source(old)], at=anchor - minutes(150)))  # 10 unknown, > 2 h
    w.put_manifest(manifest_body("submitted", [source(recent)], at=anchor - minutes(10)))  # not stuck yet
    w.put_manifest(manifest_body("pending", [source(idle)], at=anchor - minutes(45)))  # nobody took it over
    w.drain()
    listed = stack.s3.list_objects_v2(Bucket=stack.landing_bucket, Prefix="landing/")["Contents"]
    modified = {o["Key"]: o["LastModified"] for o in listed}
    undelivered = [lost, legacy, stuck, old, recent, idle]
    oldest = max(round((anchor - modified[f.key]).total_seconds()) for f in undelivered)
    namespace = f"CatalogSync/test-{stack.stage}"  # one namespace per test: moto's CloudWatch is shared

    report = checks.health(run_at(stack, anchor, metrics_namespace=namespace))

    expected = {
        "OldestUndeliveredFileAgeSeconds": float(oldest),
        "ManifestsUnfinished": 4.0,  # legacy, stuck, old, idle
        "ItemsUnknownFate": 12.0,  # legacy 2 + old 10
        "UnsupportedLandingFiles": 2.0,
    }
    assert report["metricsPublished"] is True and report["metricsError"] is None
    assert report["metrics"] == {"namespace": namespace, **expected}
    assert _read_metrics(stack, namespace) == {name: [value] for name, value in expected.items()}
    listed_metrics = stack.cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    assert sorted(m["MetricName"] for m in listed_metrics) == sorted(METRIC_UNITS)
    assert all(m["Dimensions"] == [{"Name": "service", "Value": "reconciliation"}] for m in listed_metrics)
    assert 3500 <= oldest <= 3700  # about an hour: the anchor is an hour after the uploads


def test_a_failure_to_publish_metrics_is_reported_and_fails_nothing(stack: Any) -> None:
    w = World(stack)
    f = w.put_landing("f.csv")
    anchor = datetime.now(timezone.utc) + timedelta(hours=1)
    manifest = w.put_manifest(manifest_body("finished", [source(f)], at=anchor - minutes(20)))
    stack.sqs.send_message(QueueUrl=stack.dlq_url, MessageBody="{}")
    w.drain()

    def denied(real: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        error = {"Error": {"Code": "AccessDenied", "Message": "not allowed: cloudwatch:PutMetricData"}}
        raise ClientError(error, "PutMetricData")

    clients = Clients("aws_default")
    clients.__dict__["cloudwatch"] = _S3Proxy(clients.cloudwatch, put_metric_data=denied)
    reports = run_all(run_at(stack, anchor, clients=clients))

    assert reports["archive"]["moved"] == 1 and w.manifest(manifest)["state"] == "archived"
    health = reports["health"]
    assert health["metricsPublished"] is False and "AccessDenied" in health["metricsError"]
    assert health["dlqMessages"] == 1  # the other checks still ran
    assert [b["variable"] for b in health["breaches"]] == ["catalog_sync_max_dlq_messages"]
    summary, problems = checks.summarize(reports)
    assert problems == [f"health: {health['breaches'][0]['message']}"]  # the metrics error is not one
    assert summary["warnings"] == [f"metrics not published: {health['metricsError']}"]


def test_superseded_items_count_as_final_and_the_file_is_archived(stack: Any) -> None:
    """``counts.superseded`` (the worker's items not re-sent because a newer source of the product was sent)
    is accepted by the shared schema and counts as final: with nothing unknown, the file is delivered."""
    w = World(stack)
    f = w.put_landing("f.csv")
    anchor = datetime.now(timezone.utc) + timedelta(hours=1)
    body = manifest_body("finished", [source(f)], at=anchor - minutes(20))
    body["counts"].update(accepted=body["counts"]["items"] - 2, superseded=2, unknown=0)
    key = w.put_manifest(body)
    w.drain()

    report = sweep.archive(run_at(stack, anchor))

    assert (report["invalidManifests"], report["moved"], report["manifestsArchived"]) == (0, 1, 1)
    assert w.archive_keys() == {"archive/f.csv"} and w.manifest(key)["state"] == "archived"
    assert w.manifest(key)["counts"]["superseded"] == 2  # the DAG's rewrite keeps the worker's counts
