"""Builders for the DAG tests: schema-valid manifests, landing files, queue reads, bucket snapshots."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from catalog_sync_reconcile.contract import iso, validate_manifest
from catalog_sync_reconcile.model import LandingFile, Manifest, unquote_etag

CSV_HEADER = "id,title,description,link,image_link,availability,price,brand\n"


def csv_body(*ids: str) -> bytes:
    rows = "".join(f"{i},Product {i},Desc,https://e.x/{i},https://e.x/{i}.jpg,in stock,9.99,Acme\n" for i in ids)
    return (CSV_HEADER + rows).encode()


def source(
    file: LandingFile | tuple[str, str, str], *, rejected: int = 0, event_time: datetime | None = None
) -> dict[str, Any]:
    bucket, key, etag = file.identity if isinstance(file, LandingFile) else file
    return {
        "bucket": bucket,
        "key": key,
        "etag": etag,
        "versionId": None,
        "sequencer": None,
        "eventTime": iso(event_time or datetime(2026, 11, 25, 17, 0, tzinfo=timezone.utc)),
        "size": None,
        "fileError": None,
        "errorReportKey": None,
        "rows": {
            "total": 10,
            "valid": 10 - rejected,
            "rejected": rejected,
            "unchanged": 0,
            "older": 0,
            "superseded": 0,
        },
    }


def manifest_body(
    state: str,
    sources: list[dict[str, Any]],
    *,
    at: datetime,
    created: datetime | None = None,
    submitted: datetime | None = None,
    finished: datetime | None = None,
    items_rejected: int = 0,
    unknown: int = 0,
    manifest_id: str | None = None,
) -> dict[str, Any]:
    """A schema-valid manifest in ``state``; ``at`` is its last update, the other times default around it.

    ``unknown``: items of a finished/archived manifest whose fate at Meta is not known (what the worker
    before "unknown is not delivered" wrote); pending and submitted manifests have every item unknown.
    """
    created = created or at
    rows_rejected = sum(s["rows"]["rejected"] for s in sources)
    items = max(1, sum(s["rows"]["valid"] for s in sources))
    batch: dict[str, Any] = {"index": 0, "itemCount": items, "payloadKey": "synced/batches/x/0.json"}
    batch["status"] = "unsent"
    if state in ("submitted", "finished", "archived"):
        submitted = submitted or at
        batch.update(handle="h-" + secrets.token_hex(4), status="running", submittedAt=iso(submitted))
    if state in ("finished", "archived"):
        finished = finished or at
        rejections = [{"id": f"p{i}", "reason": "bad"} for i in range(items_rejected)]
        batch.update(status="finished", finishedAt=iso(finished), rejected=rejections)
    body = {
        "schemaVersion": 1,
        "manifestId": manifest_id or f"m-{secrets.token_hex(6)}",
        "window": created.strftime("%Y-%m-%dT%H:00:00Z"),
        "state": state,
        "createdAt": iso(created),
        "updatedAt": iso(at),
        "submittedAt": iso(submitted) if submitted else None,
        "finishedAt": iso(finished) if finished else None,
        "archivedAt": None,
        "catalogId": "cat-1",
        "sources": sources,
        "batches": [batch],
        "counts": {
            "items": items,
            "accepted": items - items_rejected - unknown if state in ("finished", "archived") else 0,
            "rejected": items_rejected,
            "unknown": unknown if state in ("finished", "archived") else items,
            "rowsRejected": rows_rejected,
            "calls": 1,
        },
    }
    validate_manifest(body)
    return body


class World:
    """Puts landing files and manifests into a deployed stack and reads back what the DAG did."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.s3 = stack.s3
        self.sqs = stack.sqs

    def put_landing(self, name: str, body: bytes | None = None) -> LandingFile:
        key = f"landing/{name}"
        bucket = self.stack.landing_bucket
        put = self.s3.put_object(Bucket=bucket, Key=key, Body=body or csv_body(name), ContentType="text/csv")
        head = self.s3.head_object(Bucket=bucket, Key=key)
        etag = unquote_etag(head["ETag"])
        assert unquote_etag(put["ETag"]) == etag
        return LandingFile(bucket, key, etag, head["ContentLength"], head["LastModified"])

    def put_manifest(self, body: dict[str, Any]) -> str:
        key = f"synced/manifests/{body['window'][:13]}/{body['manifestId']}.json"
        data = json.dumps(body).encode()
        self.s3.put_object(Bucket=self.stack.synced_bucket, Key=key, Body=data, ContentType="application/json")
        return key

    def manifest(self, key: str) -> dict[str, Any]:
        return json.loads(self.s3.get_object(Bucket=self.stack.synced_bucket, Key=key)["Body"].read())

    def put_landing_key(self, key: str, body: bytes = b"not a csv\n") -> None:
        """Any object under the bucket (a non-CSV file, a folder marker)."""
        self.s3.put_object(Bucket=self.stack.landing_bucket, Key=key, Body=body)

    def body(self, key: str) -> bytes | None:
        """The current bytes of a landing-bucket key, None when it has none."""
        try:
            return self.s3.get_object(Bucket=self.stack.landing_bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None

    def landing_keys(self) -> set[str]:
        return self._keys(self.stack.landing_bucket, "landing/")

    def archive_keys(self) -> set[str]:
        return self._keys(self.stack.landing_bucket, "archive/")

    def _keys(self, bucket: str, prefix: str) -> set[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return {o["Key"] for page in pages for o in page.get("Contents", [])}

    def drain(self, queue_url: str | None = None) -> list[Any]:
        """Receives and deletes every message now on the queue (S3 events included); returns the bodies.

        JSON bodies are parsed; others (a raw SNS notification) come back as text.
        """
        queue_url = queue_url or self.stack.queue_url
        bodies: list[Any] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=30
            )
            messages = got.get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                try:
                    bodies.append(json.loads(message["Body"]))
                except ValueError:
                    bodies.append(message["Body"])
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def sweep_messages(self) -> list[dict[str, Any]]:
        """The DAG's messages now on the queue (S3 event notifications dropped)."""
        return [m for m in self.drain() if isinstance(m, dict) and str(m.get("kind", "")).startswith("catalog-sync.")]

    def snapshot(self) -> dict[str, Any]:
        """Every object version in both buckets (key, version, ETag) and the queue depths."""
        versions = []
        for bucket in (self.stack.landing_bucket, self.stack.synced_bucket):
            for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                versions += [(bucket, v["Key"], v["VersionId"], v["ETag"]) for v in page.get("Versions", [])]
                markers = page.get("DeleteMarkers", [])
                versions += [(bucket, d["Key"], d["VersionId"], "delete-marker") for d in markers]
        depth = {}
        for url in (self.stack.queue_url, self.stack.dlq_url):
            names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)
            depth[url] = attrs["Attributes"]
        return {"objects": sorted(versions), "queues": depth}


def as_manifest(key: str, body: dict[str, Any], modified: datetime | None = None) -> Manifest:
    """A Manifest value for the pure decision tests (no S3)."""
    modified = modified or datetime.now(timezone.utc)
    return Manifest(key=key, etag="e" + secrets.token_hex(4), last_modified=modified, body=body)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
