"""The sweep's tasks against moto (S3, SQS, CloudWatch) deployed from infra/storage.yml.

The task bodies (``catalog_sync_reconcile.sweep``) run here directly, with the hooks' boto3 clients,
so every state can be placed in time through the run's anchor; ``test_dag.py`` runs the whole DAG.
Moto stamps LastModified with the real time, so the runs are anchored an hour after the uploads
(every file past the 15-minute grace) and manifest times are written relative to that anchor.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from catalog_sync_reconcile import checks, sweep
from catalog_sync_reconcile.contract import STRAGGLER_KIND, RECHECK_KIND, validate_message
from catalog_sync_reconcile.archive import SOURCE_ETAG_META
from catalog_sync_reconcile.aws import Clients
from sweep_helpers import World, csv_body, manifest_body, minutes, source


def run_at(stack: Any, anchor: datetime, clients: Clients | None = None, **overrides: Any) -> sweep.Run:
    values = stack.variables(**overrides)
    return sweep.open_run(anchor, lambda name, default: values.get(name, default), clients=clients)


def run_all(run: sweep.Run) -> dict[str, dict[str, Any]]:
    tasks = {"stragglers": sweep.stragglers, "stuck": sweep.stuck, "archive": sweep.archive, "health": checks.health}
    return {name: body(run) for name, body in tasks.items()}


class Scenario:
    """Files and manifests in every state the issue names, anchored one hour after the uploads."""

    def __init__(self, stack: Any) -> None:
        w = self.world = World(stack)
        names = "straggler never inflight stuck recent partly final rejected multi abandoned changed".split()
        files = self.files = {n: w.put_landing(f"{n}.csv") for n in names}
        self.anchor = datetime.now(timezone.utc) + timedelta(hours=1)
        self.m: dict[str, str] = {}

        def put(name: str, state: str, file: str, ago: float, rejected: int = 0, **kwargs: Any) -> None:
            src = source(files[file], rejected=rejected)
            self.m[name] = w.put_manifest(manifest_body(state, [src], at=self.anchor - minutes(ago), **kwargs))

        put("never", "pending", "never", 120)
        put("inflight", "pending", "inflight", 1)
        put("stuck", "submitted", "stuck", 45)
        put("recent", "submitted", "recent", 10)
        # partly final: one manifest finished, another covering the same file still submitted
        put("partly-finished", "finished", "partly", 20)
        put("partly-submitted", "submitted", "partly", 5)
        put("final", "finished", "final", 20)
        put("rejected", "finished", "rejected", 15, rejected=2, items_rejected=3)
        # finished + a stale pending for the same content: the pending counts as abandoned
        put("multi-finished", "finished", "multi", 30)
        put("multi-stale", "pending", "multi", 180)
        put("abandoned", "abandoned", "abandoned", 180)
        # the manifest describes older content of the key than what is in landing now
        old = files["changed"]
        older = source((old.bucket, old.key, "0" * 32))
        self.m["changed"] = w.put_manifest(manifest_body("finished", [older], at=self.anchor - minutes(20)))
        w.drain()  # the uploads' S3 event notifications

    def expected_stragglers(self) -> dict[str, str]:
        return {
            self.files["straggler"].key: "no-manifest",
            self.files["never"].key: "never-submitted",
            self.files["abandoned"].key: "never-submitted",
            self.files["changed"].key: "no-manifest",
        }


def test_every_state_is_handled_as_specified(stack: Any) -> None:
    sc = Scenario(stack)
    w, f = sc.world, sc.files
    reports = run_all(run_at(stack, sc.anchor, max_rows_rejected_per_hour=1, max_items_rejected_per_hour=1))

    messages = w.sweep_messages()
    for message in messages:
        validate_message(message)
    stragglers = {m["key"]: m["reason"] for m in messages if m["kind"] == STRAGGLER_KIND}
    assert stragglers == sc.expected_stragglers()
    for m in messages:
        if m["kind"] == STRAGGLER_KIND:
            etag = next(x.etag for x in f.values() if x.key == m["key"])
            assert m["bucket"] == stack.landing_bucket and m["etag"] == etag
    assert [m["manifestKey"] for m in messages if m["kind"] == RECHECK_KIND] == [sc.m["stuck"]]
    assert len(messages) == 5

    moved = {f[n].key for n in ("final", "rejected", "multi")}
    assert w.landing_keys() == {x.key for x in f.values()} - moved
    assert w.archive_keys() == {k.replace("landing/", "archive/", 1) for k in moved}
    for name in ("final", "rejected", "multi"):
        archived = stack.s3.get_object(Bucket=stack.landing_bucket, Key=f"archive/{name}.csv")
        assert archived["Body"].read() == csv_body(f"{name}.csv")
        assert archived["Metadata"][SOURCE_ETAG_META] == f[name].etag
        assert archived["ContentType"] == "text/csv"

    states = {name: w.manifest(key)["state"] for name, key in sc.m.items()}
    assert states == {
        "never": "pending",
        "inflight": "pending",
        "stuck": "submitted",
        "recent": "submitted",
        "partly-finished": "finished",  # its file waits for the submitted one
        "partly-submitted": "submitted",
        "final": "archived",
        "rejected": "archived",
        "multi-finished": "archived",
        "multi-stale": "pending",  # the DAG never rewrites the worker's pending manifests
        "abandoned": "abandoned",
        "changed": "finished",  # its content never reached archive/
    }
    final = w.manifest(sc.m["final"])
    assert final["archivedAt"] and final["updatedAt"] == final["archivedAt"]

    assert reports["stragglers"]["sent"] == 4 and reports["stragglers"]["inFlight"] == 1
    assert reports["stuck"] == {**reports["stuck"], "sent": 1, "stuck": 1, "submittedRecently": 2}
    assert reports["archive"]["moved"] == 3 and reports["archive"]["manifestsArchived"] == 3
    assert reports["archive"]["waiting"] == 5  # never, inflight, stuck, recent, partly
    assert reports["archive"]["neverDelivered"] == 1  # abandoned
    health = reports["health"]
    assert (health["rowsRejectedLastHour"], health["itemsRejectedLastHour"]) == (2, 3)
    assert [b["variable"] for b in health["breaches"]] == [
        "catalog_sync_max_rows_rejected_per_hour",
        "catalog_sync_max_items_rejected_per_hour",
    ]
    assert health["breaches"][0]["message"] == (
        "CSV rows rejected in the last hour is 2 rows, above catalog_sync_max_rows_rejected_per_hour=1 by 1 rows"
    )
    assert health["breaches"][1]["excess"] == 2


def test_second_run_right_after_changes_nothing_and_sends_nothing(stack: Any) -> None:
    sc = Scenario(stack)
    run_all(run_at(stack, sc.anchor))
    assert len(sc.world.sweep_messages()) == 5
    before = sc.world.snapshot()

    for anchor in (sc.anchor, sc.anchor + minutes(5)):  # the same slot retried, and a manual run just after
        reports = run_all(run_at(stack, anchor))
        assert sc.world.snapshot() == before
        assert sc.world.sweep_messages() == []
        assert reports["stragglers"]["sent"] == 0 and reports["stragglers"]["recentlySent"] == 4
        assert reports["stuck"]["sent"] == 0 and reports["stuck"]["recentlySent"] == 1
        assert reports["archive"]["moved"] == 0 and reports["archive"]["manifestsArchived"] == 0


def test_unsettled_subjects_are_sent_again_one_period_later_and_markers_follow_the_worker(stack: Any) -> None:
    w = World(stack)
    picked, lost = w.put_landing("picked.csv"), w.put_landing("lost.csv")
    anchor = datetime.now(timezone.utc) + timedelta(hours=1)
    stuck_file = w.put_landing("s.csv")
    stuck_key = w.put_manifest(manifest_body("submitted", [source(stuck_file)], at=anchor - minutes(45)))
    w.drain()
    run_all(run_at(stack, anchor))
    assert len(w.sweep_messages()) == 3
    markers = w._keys(stack.synced_bucket, "synced/sweep/")
    assert markers == {
        "synced/sweep/straggler/landing/picked.csv.json",
        "synced/sweep/straggler/landing/lost.csv.json",
        "synced/sweep/recheck/" + stuck_key.removeprefix("synced/manifests/"),
    }
    marker_key = "synced/sweep/straggler/landing/lost.csv.json"
    marker = json.loads(stack.s3.get_object(Bucket=stack.synced_bucket, Key=marker_key)["Body"].read())
    assert marker["message"]["etag"] == lost.etag and marker["messageId"] and marker["anchor"]

    # Before the resend period is over: nothing again (straggler grace 15 min, stuck threshold 30 min).
    run_all(run_at(stack, anchor + minutes(14)))
    assert w.sweep_messages() == []
    # The worker takes "picked" (submitted manifest) meanwhile; "lost" stays uncovered, the stuck one stays stuck.
    w.put_manifest(manifest_body("submitted", [source(picked)], at=anchor + minutes(15)))
    reports = run_all(run_at(stack, anchor + minutes(20)))
    assert [(m["kind"], m.get("key")) for m in w.sweep_messages()] == [(STRAGGLER_KIND, lost.key)]
    assert reports["stragglers"]["markersDeleted"] == 1 and reports["stuck"]["recentlySent"] == 1
    reports = run_all(run_at(stack, anchor + minutes(31)))
    assert [m.get("manifestKey") for m in w.sweep_messages()] == [stuck_key]
    # The worker finishes the stuck manifest (Meta's outcome known for every item): its marker goes, and
    # its file is archived.
    body = w.manifest(stuck_key)
    counts = {**body["counts"], "accepted": body["counts"]["items"], "unknown": 0}
    body = json.dumps({**body, "state": "finished", "counts": counts}).encode()
    stack.s3.put_object(Bucket=stack.synced_bucket, Key=stuck_key, Body=body)
    reports = run_all(run_at(stack, anchor + minutes(32)))
    assert reports["stuck"]["markersDeleted"] == 1 and reports["archive"]["moved"] == 1
    assert w.sweep_messages() == []
    assert w._keys(stack.synced_bucket, "synced/sweep/") == {"synced/sweep/straggler/landing/lost.csv.json"}
    assert w.manifest(stuck_key)["state"] == "archived"


def test_fresh_files_wait_for_the_grace_period(stack: Any) -> None:
    w = World(stack)
    fresh = w.put_landing("fresh.csv")
    pending_file = w.put_landing("pending.csv")
    now = datetime.now(timezone.utc)
    w.put_manifest(manifest_body("pending", [source(pending_file)], at=now - minutes(120)))
    w.drain()
    report = sweep.stragglers(run_at(stack, now))
    assert (report["fresh"], report["sent"]) == (2, 0)
    assert w.sweep_messages() == []
    # the same files judged 16 minutes later are stragglers
    report = sweep.stragglers(run_at(stack, now + minutes(16)))
    assert {m["key"]: m["reason"] for m in w.sweep_messages()} == {
        fresh.key: "no-manifest",
        pending_file.key: "never-submitted",
    }


def test_a_file_in_several_manifests_moves_when_the_last_one_finishes(stack: Any) -> None:
    w = World(stack)
    a_file, b_file = w.put_landing("a.csv"), w.put_landing("b.csv")
    anchor = datetime.now(timezone.utc) + timedelta(hours=1)
    first = w.put_manifest(manifest_body("finished", [source(a_file), source(b_file)], at=anchor - minutes(30)))
    second_body = manifest_body("submitted", [source(b_file)], at=anchor - minutes(5))
    second = w.put_manifest(second_body)

    report = sweep.archive(run_at(stack, anchor))
    assert (report["moved"], report["waiting"], report["manifestsWaiting"]) == (1, 1, 1)
    assert w.landing_keys() == {b_file.key} and w.manifest(first)["state"] == "finished"

    finished = manifest_body("finished", [source(b_file)], at=anchor)
    stack.s3.put_object(Bucket=stack.synced_bucket, Key=second, Body=json.dumps(finished).encode())
    report = sweep.archive(run_at(stack, anchor + minutes(1)))
    assert report["moved"] == 1 and report["manifestsArchived"] == 2
    assert w.landing_keys() == set() and w.archive_keys() == {"archive/a.csv", "archive/b.csv"}
    assert w.manifest(first)["state"] == w.manifest(second)["state"] == "archived"


class _S3Proxy:
    """Wraps the hook's S3 client to let the "worker" or a producer act between two calls of the DAG."""

    def __init__(self, real: Any, **hooks: Any) -> None:
        self._real, self._hooks = real, hooks

    def __getattr__(self, name: str) -> Any:
        if name in self._hooks:
            return lambda **kwargs: self._hooks[name](self._real, **kwargs)
        return getattr(self._real, name)


def _clients_with(stack: Any, **hooks: Any) -> Clients:
    clients = Clients("aws_default")
    clients.__dict__["s3"] = _S3Proxy(clients.s3, **hooks)
    return clients


def test_newer_upload_during_archive_is_not_lost_on_a_versioned_bucket(stack: Any) -> None:
    w = World(stack)
    old = w.put_landing("race.csv")
    anchor = datetime.now(timezone.utc) + timedelta(hours=1)
    w.put_manifest(manifest_body("finished", [source(old)], at=anchor - minutes(30)))

    def delete_after_new_upload(real: Any, **kwargs: Any) -> Any:
        if kwargs["Key"] == old.key:
            real.put_object(Bucket=stack.landing_bucket, Key=old.key, Body=csv_body("newer"))
        return real.delete_object(**kwargs)

    clients = _clients_with(stack, delete_object=delete_after_new_upload)
    report = sweep.archive(run_at(stack, anchor, clients=clients))
    assert report["moved"] == 1
    current = stack.s3.get_object(Bucket=stack.landing_bucket, Key=old.key)
    assert current["Body"].read() == csv_body("newer")
    archived = stack.s3.get_object(Bucket=stack.landing_bucket, Key="archive/race.csv")
    assert archived["Body"].read() == csv_body("race.csv")
    versions = stack.s3.list_object_versions(Bucket=stack.landing_bucket, Prefix=old.key)
    assert [v["ETag"].strip('"') for v in versions["Versions"]] != [old.etag]  # the copied version is gone
    assert old.etag not in [v["ETag"].strip('"') for v in versions["Versions"]]


def test_newer_upload_during_archive_is_not_lost_without_versioning(stack: Any) -> None:
    stack.s3.put_bucket_versioning(Bucket=stack.landing_bucket, VersioningConfiguration={"Status": "Suspended"})
    w = World(stack)
    old = w.put_landing("race.csv")
    anchor = datetime.now(timezone.utc) + timedelta(hours=1)
    manifest = w.put_manifest(manifest_body("finished", [source(old)], at=anchor - minutes(30)))

    def delete_after_new_upload(real: Any, **kwargs: Any) -> Any:
        assert "VersionId" not in kwargs and kwargs["IfMatch"] == f'"{old.etag}"'
        real.put_object(Bucket=stack.landing_bucket, Key=old.key, Body=csv_body("newer"))
        return real.delete_object(**kwargs)

    clients = _clients_with(stack, delete_object=delete_after_new_upload)
    report = sweep.archive(run_at(stack, anchor, clients=clients))
    assert (report["changed"], report["moved"]) == (1, 0)
    assert stack.s3.get_object(Bucket=stack.landing_bucket, Key=old.key)["Body"].read() == csv_body("newer")
    assert w.manifest(manifest)["state"] == "finished"


def test_manifest_changed_by_the_worker_meanwhile_is_not_overwritten(stack: Any) -> None:
    w = World(stack)
    f = w.put_landing("f.csv")
    anchor = datetime.now(timezone.utc) + timedelta(hours=1)
    body = manifest_body("finished", [source(f)], at=anchor - minutes(30))
    key = w.put_manifest(body)
    worker_version = {**body, "errorReportKeys": ["errors/x.json"]}

    def put_after_worker(real: Any, **kwargs: Any) -> Any:
        if kwargs["Key"] == key:
            assert kwargs["IfMatch"].startswith('"')
            real.put_object(Bucket=stack.synced_bucket, Key=key, Body=json.dumps(worker_version).encode())
        return real.put_object(**kwargs)

    report = sweep.archive(run_at(stack, anchor, clients=_clients_with(stack, put_object=put_after_worker)))
    assert report["moved"] == 1 and report["manifestConflicts"] == 1
    assert w.manifest(key) == worker_version
    report = sweep.archive(run_at(stack, anchor))  # the next run reads the new version and marks it
    assert report["manifestsArchived"] == 1
    assert w.manifest(key)["state"] == "archived" and w.manifest(key)["errorReportKeys"] == ["errors/x.json"]


def test_a_copy_that_fails_verification_keeps_the_landing_file_and_fails_the_task(stack: Any) -> None:
    w = World(stack)
    f = w.put_landing("f.csv")
    anchor = datetime.now(timezone.utc) + timedelta(hours=1)
    key = w.put_manifest(manifest_body("finished", [source(f)], at=anchor - minutes(30)))
    body = csv_body("f.csv")
    corrupted = bytes([body[0] ^ 1]) + body[1:]  # same size, other bytes

    def corrupting_copy(real: Any, **kwargs: Any) -> Any:
        put = real.put_object(Bucket=kwargs["Bucket"], Key=kwargs["Key"], Body=corrupted)
        return {"VersionId": put["VersionId"], "CopyObjectResult": {"ETag": put["ETag"]}}

    with pytest.raises(sweep.ArchiveVerificationError, match="landing/f.csv"):
        sweep.archive(run_at(stack, anchor, clients=_clients_with(stack, copy_object=corrupting_copy)))
    assert w.landing_keys() == {f.key} and w.manifest(key)["state"] == "finished"


def test_multipart_upload_is_verified_by_checksum_and_archived(stack: Any) -> None:
    w = World(stack)
    s3, bucket, key = stack.s3, stack.landing_bucket, "landing/big.csv"
    body = csv_body(*[str(i) for i in range(200)])
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="text/csv")
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=body)
    parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload=parts)
    head = s3.head_object(Bucket=bucket, Key=key)
    etag = head["ETag"].strip('"')
    assert etag.endswith("-1")
    anchor = datetime.now(timezone.utc) + timedelta(hours=1)
    manifest = w.put_manifest(manifest_body("finished", [source((bucket, key, etag))], at=anchor - minutes(30)))
    report = sweep.archive(run_at(stack, anchor))
    assert report["moved"] == 1 and report["manifestsArchived"] == 1
    archived = s3.get_object(Bucket=bucket, Key="archive/big.csv")
    assert archived["Body"].read() == body
    assert archived["ETag"].strip('"') != etag  # a copy is single-part: verified by SHA-256, not by ETag
    assert w.manifest(manifest)["state"] == "archived"


def test_health_reports_dlq_depth_and_queue_age_with_the_excess(stack: Any) -> None:
    for i in range(3):
        stack.sqs.send_message(QueueUrl=stack.dlq_url, MessageBody=json.dumps({"n": i}))
    now = datetime.now(timezone.utc)
    stack.cloudwatch.put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": stack.queue_name}],
                "Timestamp": now - minutes(1),
                "Value": 45 * 60,
                "Unit": "Seconds",
            }
        ],
    )
    report = checks.health(run_at(stack, now, max_dlq_messages=1))
    assert report["dlqMessages"] == 3 and report["oldestMessageAgeSeconds"] == 2700
    assert [b["message"] for b in report["breaches"]] == [
        "DLQ depth is 3 messages, above catalog_sync_max_dlq_messages=1 by 2 messages",
        "age of the oldest queue message is 45 minutes, above catalog_sync_max_oldest_message_minutes=30 by 15 minutes",
    ]
    # nothing was received from either queue: the DLQ still holds its 3 messages, none was redriven
    assert World(stack).snapshot()["queues"][stack.dlq_url]["ApproximateNumberOfMessages"] == "3"
    quiet = checks.health(run_at(stack, now, max_dlq_messages=-1, max_oldest_message_minutes=60))
    assert quiet["breaches"] == []


def test_health_is_quiet_on_an_idle_stack(stack: Any) -> None:
    report = checks.health(run_at(stack, datetime.now(timezone.utc)))
    assert report["breaches"] == [] and report["oldestMessageAgeSeconds"] is None
    assert (report["dlqMessages"], report["rowsRejectedLastHour"], report["itemsRejectedLastHour"]) == (0, 0, 0)


def test_bucket_and_queue_names_default_to_the_stack_outputs(stack: Any) -> None:
    values = {"catalog_sync_stack_name": stack.stack_name}
    run = sweep.open_run(datetime.now(timezone.utc), lambda name, default: values.get(name, default))
    s = run.settings
    assert (s.landing_bucket, s.synced_bucket) == (stack.landing_bucket, stack.synced_bucket)
    # moto may print a queue URL with its own host instead of sqs.<region>.amazonaws.com: same queue
    assert s.queue_url.rsplit("/", 2)[-2:] == stack.queue_url.rsplit("/", 2)[-2:]
    assert s.dlq_url.rsplit("/", 2)[-2:] == stack.dlq_url.rsplit("/", 2)[-2:]
    # and the names work: a health check reads both queues through them
    assert checks.health(run)["dlqMessages"] == 0


def test_invalid_manifests_and_markers_are_reported_and_not_trusted(stack: Any) -> None:
    w = World(stack)
    f = w.put_landing("f.csv")
    anchor = datetime.now(timezone.utc) + timedelta(hours=1)
    body = manifest_body("finished", [source(f)], at=anchor - minutes(30))
    del body["counts"]
    put = functools.partial(stack.s3.put_object, Bucket=stack.synced_bucket)
    put(Key="synced/manifests/2026-11-25T17/no-counts.json", Body=json.dumps(body).encode())
    put(Key="synced/manifests/2026-11-25T17/truncated.json", Body=json.dumps(body).encode()[:40])
    put(Key="synced/sweep/straggler/landing/f.csv.json", Body=b"\xff not a marker")
    w.drain()
    run = run_at(stack, anchor)
    assert sweep.archive(run)["invalidManifests"] == 2 and w.landing_keys() == {f.key}
    assert sweep.stragglers(run)["invalidManifests"] == 2
    assert [m["reason"] for m in w.sweep_messages()] == ["no-manifest"]  # the garbage marker counts as absent
    marker = stack.s3.get_object(Bucket=stack.synced_bucket, Key="synced/sweep/straggler/landing/f.csv.json")
    assert json.loads(marker["Body"].read())["message"]["etag"] == f.etag


def test_actions_per_task_are_capped(stack: Any) -> None:
    w = World(stack)
    for i in range(3):
        w.put_landing(f"f{i}.csv")
    w.drain()
    anchor = datetime.now(timezone.utc) + timedelta(hours=1)
    report = sweep.stragglers(run_at(stack, anchor, max_actions_per_task=2))
    assert (report["sent"], report["deferred"]) == (2, 1) and len(w.sweep_messages()) == 2
    report = sweep.stragglers(run_at(stack, anchor, max_actions_per_task=2))
    assert (report["sent"], report["recentlySent"]) == (1, 2) and len(w.sweep_messages()) == 1
