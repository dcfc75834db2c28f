"""S3, SQS and CloudWatch I/O of the sweep. Boto3 clients come from the Amazon provider's hooks.

The hooks take the Airflow connection (``catalog_sync_aws_conn_id``); its extra ``endpoint_url`` (or
botocore's own ``AWS_ENDPOINT_URL``) points them at a local emulator, and on MWAA an empty
``aws_default`` falls back to the execution role. Clients are created on first use, inside a task.

Every write is safe to repeat:
- manifests are rewritten only with ``If-Match`` on the ETag read, so a concurrent worker update wins
  and the DAG retries on its next run;
- a move is copy, verify, delete; a repeated copy overwrites the archive copy with the same bytes, and
  the delete names the exact version copied (or, without versioning, ``If-Match`` on its ETag), so a
  newer upload of the same key is never removed;
- a message is sent before its marker is written: a crash in between re-sends it (harmless, the
  worker is idempotent) rather than losing it.

Failpoints (``failpoints.py``, armed only by ``CATALOG_SYNC_FAILPOINTS``) mark the places between two
writes of a move: ``archive.after-copy`` and ``archive.after-delete``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from botocore.exceptions import ClientError

from catalog_sync_reconcile.contract import ContractError, iso, validate_manifest
from catalog_sync_reconcile.decisions import (
    LandingFile,
    Manifest,
    landing_kind,
    parse_time,
    unquote_etag,
    within_lookback,
)
from catalog_sync_reconcile.failpoints import failpoint
from catalog_sync_reconcile.settings import Settings

log = logging.getLogger(__name__)

#: User metadata on each archive copy: which landing version it came from (an archive key can be
#: reused by a later upload of the same landing key; this tells which content the copy holds).
SOURCE_ETAG_META = "catalog-sync-source-etag"
SOURCE_VERSION_META = "catalog-sync-source-version-id"
#: Content headers a copy with MetadataDirective=REPLACE must restate to stay identical.
_CONTENT_HEADERS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl")
MARKER_KIND = "catalog-sync.sweep-marker"
_READ_THREADS = 16


def utcnow() -> datetime:
    """Wall-clock time, only for timestamps the DAG writes (sentAt, archivedAt); decisions use the anchor."""
    return datetime.now(timezone.utc)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _is_missing(error: ClientError) -> bool:
    return _error_code(error) in ("404", "NoSuchKey", "NotFound", "NoSuchVersion")


def _is_precondition_failed(error: ClientError) -> bool:
    # 409 ConditionalRequestConflict: a concurrent conditional write won; same meaning for us.
    code = _error_code(error)
    return code in ("PreconditionFailed", "ConditionalRequestConflict") or _status(error) in (412, 409)


class Clients:
    """Boto3 clients for one AWS connection id, created lazily through the Amazon provider's hooks."""

    def __init__(self, aws_conn_id: str) -> None:
        self.aws_conn_id = aws_conn_id

    @functools.cached_property
    def s3(self) -> Any:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=self.aws_conn_id).get_conn()

    @functools.cached_property
    def sqs(self) -> Any:
        from airflow.providers.amazon.aws.hooks.sqs import SqsHook

        return SqsHook(aws_conn_id=self.aws_conn_id).get_conn()

    def _client(self, client_type: str) -> Any:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        return AwsBaseHook(aws_conn_id=self.aws_conn_id, client_type=client_type).get_conn()

    @functools.cached_property
    def cloudwatch(self) -> Any:
        return self._client("cloudwatch")

    @functools.cached_property
    def cloudformation(self) -> Any:
        return self._client("cloudformation")


def resolve_resources(settings: Settings, clients: Clients) -> Settings:
    """Fills bucket and queue names left empty from the CloudFormation stack's outputs (one call)."""
    if not settings.missing_resources():
        return settings
    stacks = clients.cloudformation.describe_stacks(StackName=settings.stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])} if stacks else {}
    return settings.with_stack_outputs(outputs)


@dataclasses.dataclass(frozen=True)
class Marker:
    """A record that a message about ``subject`` was sent by the run anchored at ``anchor``."""

    key: str
    anchor: datetime
    message: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class InvalidManifest:
    key: str
    error: str


MoveOutcome = Literal["moved", "changed", "verify-failed"]


class Storage:
    """The sweep's view of the buckets and queues named in ``settings``."""

    def __init__(self, settings: Settings, clients: Clients, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clients = clients
        self.clock = clock

    # ----------------------------------------------------------------------------------------- reading
    def _pages(self, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.clients.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def landing(self) -> tuple[list[LandingFile], list[str]]:
        """(CSV files, unsupported keys) under the landing prefix, in one listing (``landing_kind``).

        The suffix matches in any letter case; folder markers are skipped; every other key is returned
        as unsupported so that it is reported, never silently ignored.
        """
        s = self.settings
        files: list[LandingFile] = []
        unsupported: list[str] = []
        for obj in self._pages(s.landing_bucket, s.landing_prefix):
            kind = landing_kind(obj["Key"], s.landing_suffix)
            if kind == "unsupported":
                unsupported.append(obj["Key"])
            elif kind == "csv":
                files.append(
                    LandingFile(
                        bucket=s.landing_bucket,
                        key=obj["Key"],
                        etag=unquote_etag(obj["ETag"]),
                        size=int(obj["Size"]),
                        last_modified=obj["LastModified"],
                    )
                )
        return files, sorted(unsupported)

    def landing_files(self) -> list[LandingFile]:
        """The CSV files under the landing prefix (see ``landing``)."""
        return self.landing()[0]

    def _get_json(self, bucket: str, key: str) -> tuple[Any, str, datetime] | None:
        """(parsed body, unquoted ETag, LastModified); None when gone; ValueError when not JSON."""
        try:
            got = self.clients.s3.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if _is_missing(error):
                return None  # deleted between LIST and GET (lifecycle expiry)
            raise
        data = got["Body"].read()
        try:
            body = json.loads(data)
        except ValueError as error:  # UnicodeDecodeError and JSONDecodeError included
            raise ValueError(f"s3://{bucket}/{key} is not JSON: {error}") from None
        return body, unquote_etag(got["ETag"]), got["LastModified"]

    def _get_json_or_error(self, bucket: str, key: str) -> tuple[Any, str, datetime] | str | None:
        try:
            return self._get_json(bucket, key)
        except ValueError as error:
            return str(error)

    def manifests(self, anchor: datetime) -> tuple[list[Manifest], list[InvalidManifest]]:
        """Manifests modified within the lookback, each validated against the shared schema.

        The ETag kept is the one GetObject returned with the body, the version a later If-Match must
        name. An invalid manifest is reported, not trusted: its files are treated as not covered.
        """
        s = self.settings
        keys = [
            obj["Key"]
            for obj in self._pages(s.synced_bucket, s.manifests_prefix)
            if obj["Key"].endswith(".json") and within_lookback(obj["LastModified"], anchor, s.lookback)
        ]
        valid: list[Manifest] = []
        invalid: list[InvalidManifest] = []
        with ThreadPoolExecutor(max_workers=_READ_THREADS) as pool:
            for key, got in zip(keys, pool.map(lambda k: self._get_json_or_error(s.synced_bucket, k), keys)):
                if got is None:
                    continue
                if isinstance(got, str):
                    log.warning("ignoring unreadable manifest: %s", got)
                    invalid.append(InvalidManifest(key, got))
                    continue
                body, etag, modified = got
                try:
                    validate_manifest(body, key)
                except ContractError as error:
                    log.warning("ignoring invalid manifest: %s", error)
                    invalid.append(InvalidManifest(key, str(error)))
                    continue
                valid.append(Manifest(key=key, etag=etag, last_modified=modified, body=body))
        return valid, invalid

    # ----------------------------------------------------------------------------------------- markers
    def straggler_marker_key(self, file: LandingFile) -> str:
        return f"{self.settings.sweep_prefix}straggler/{file.key}.json"

    def recheck_marker_key(self, manifest: Manifest) -> str:
        relative = manifest.key.removeprefix(self.settings.manifests_prefix)
        return f"{self.settings.sweep_prefix}recheck/{relative}"

    def drift_marker_key(self) -> str:
        """The one marker of the drift schedule: the anchor of the run that last asked for a drift check."""
        return f"{self.settings.sweep_prefix}drift/check.json"

    def markers(self, kind: Literal["straggler", "recheck", "drift"]) -> dict[str, Marker]:
        """marker key -> marker; unreadable markers count as absent (the message is sent again)."""
        prefix = f"{self.settings.sweep_prefix}{kind}/"
        found: dict[str, Marker] = {}
        for obj in self._pages(self.settings.synced_bucket, prefix):
            got = self._get_json_or_error(self.settings.synced_bucket, obj["Key"])
            if got is None:
                continue
            try:
                if isinstance(got, str):
                    raise ValueError(got)
                body = got[0]
                anchor = parse_time(body["anchor"])
                if anchor is None or not isinstance(body["message"], dict):
                    raise ValueError("no anchor or message")
                found[obj["Key"]] = Marker(obj["Key"], anchor, body["message"])
            except (KeyError, TypeError, ValueError):
                log.warning("unreadable sweep marker %s; treating it as absent", obj["Key"])
        return found

    def put_marker(self, key: str, anchor: datetime, message: dict[str, Any], message_id: str) -> None:
        body = {
            "kind": MARKER_KIND,
            "version": 1,
            "anchor": iso(anchor),
            "message": message,
            "messageId": message_id,
        }
        self.clients.s3.put_object(
            Bucket=self.settings.synced_bucket,
            Key=key,
            Body=json.dumps(body, indent=2).encode(),
            ContentType="application/json",
        )

    def delete_marker(self, key: str) -> None:
        self.clients.s3.delete_object(Bucket=self.settings.synced_bucket, Key=key)

    # ---------------------------------------------------------------------------------------- messages
    def send(self, message: dict[str, Any]) -> str:
        """Sends one sweep message (already schema-checked by its builder) to the worker's queue."""
        sqs = self.clients.sqs
        sent = sqs.send_message(QueueUrl=self.settings.queue_url, MessageBody=json.dumps(message))
        return str(sent["MessageId"])

    # ----------------------------------------------------------------------------------------- archive
    def archive_key(self, landing_key: str) -> str:
        return self.settings.archive_prefix + landing_key.removeprefix(self.settings.landing_prefix)

    def _sha256(self, bucket: str, key: str, version_id: str | None) -> str:
        extra = {"VersionId": version_id} if version_id else {}
        body = self.clients.s3.get_object(Bucket=bucket, Key=key, **extra)["Body"]
        digest = hashlib.sha256()
        for chunk in body.iter_chunks(chunk_size=1024 * 1024):
            digest.update(chunk)
        return digest.hexdigest()

    def move_to_archive(self, file: LandingFile) -> MoveOutcome:
        """Copy to archive/ (same relative key), verify size and checksum, delete the landing version.

        - changed: the landing object is no longer the content the manifests describe (a newer upload
          arrived); nothing is touched, the next run judges the new content.
        - verify-failed: the copy differs; landing is left intact and the caller fails the task.
        Checksum: equal ETags of a copy and its source mean equal MD5s for single-part SSE-S3 objects;
        when they differ (multipart upload, SSE-KMS) both objects are re-read and their SHA-256 compared.
        """
        s3 = self.clients.s3
        bucket = file.bucket
        try:
            head = s3.head_object(Bucket=bucket, Key=file.key)
        except ClientError as error:
            if _is_missing(error):
                return "changed"
            raise
        if unquote_etag(head["ETag"]) != file.etag:
            return "changed"
        version_id = head.get("VersionId")
        version_id = None if version_id in (None, "null") else version_id
        source: dict[str, str] = {"Bucket": bucket, "Key": file.key}
        if version_id:
            source["VersionId"] = version_id
        target = self.archive_key(file.key)
        try:
            copied = s3.copy_object(
                Bucket=bucket,
                Key=target,
                CopySource=source,
                CopySourceIfMatch=head["ETag"],  # without versioning, a newer upload fails the copy
                MetadataDirective="REPLACE",
                Metadata={
                    **head.get("Metadata", {}),
                    SOURCE_ETAG_META: file.etag,
                    SOURCE_VERSION_META: version_id or "",
                },
                **{h: head[h] for h in _CONTENT_HEADERS if head.get(h)},
            )
        except ClientError as error:
            if _is_precondition_failed(error):
                return "changed"
            raise
        copy_version = copied.get("VersionId")
        copy_head = s3.head_object(
            Bucket=bucket, Key=target, **({"VersionId": copy_version} if copy_version else {})
        )
        size, copy_size = head["ContentLength"], copy_head["ContentLength"]
        if copy_size != size:
            log.error("archive copy %s has %s bytes, source %s has %s", target, copy_size, file.key, size)
            return "verify-failed"
        same_etag = unquote_etag(copy_head["ETag"]) == file.etag
        if not same_etag and self._sha256(bucket, target, copy_version) != self._sha256(
            bucket, file.key, version_id
        ):
            log.error("archive copy %s differs from %s (SHA-256)", target, file.key)
            return "verify-failed"
        failpoint("archive.after-copy")
        try:
            if version_id:
                # Deleting the version copied, not the key: a newer upload stays current and untouched.
                s3.delete_object(Bucket=bucket, Key=file.key, VersionId=version_id)
            else:
                s3.delete_object(Bucket=bucket, Key=file.key, IfMatch=head["ETag"])
        except ClientError as error:
            if _is_precondition_failed(error):
                return "changed"
            raise
        failpoint("archive.after-delete")
        return "moved"

    def source_archived(
        self, bucket: str, key: str, etag: str, in_landing: set[tuple[str, str, str]]
    ) -> bool:
        """Whether this exact content has left landing and sits in archive/ (by the copy's metadata)."""
        s = self.settings
        if bucket != s.landing_bucket or not key.startswith(s.landing_prefix):
            return False  # not a file this DAG moves
        if (bucket, key, etag) in in_landing:
            return False
        try:
            head = self.clients.s3.head_object(Bucket=bucket, Key=self.archive_key(key))
        except ClientError as error:
            if _is_missing(error):
                return False
            raise
        return head.get("Metadata", {}).get(SOURCE_ETAG_META) == etag or unquote_etag(head["ETag"]) == etag

    def mark_archived(self, manifest: Manifest) -> bool:
        """Conditional rewrite finished -> archived. False when the worker changed it since it was read."""
        now = iso(self.clock())
        body = {**manifest.body, "state": "archived", "archivedAt": now, "updatedAt": now}
        validate_manifest(body, f"{manifest.key} (as the DAG would write it)")
        try:
            self.clients.s3.put_object(
                Bucket=self.settings.synced_bucket,
                Key=manifest.key,
                Body=json.dumps(body, indent=2, ensure_ascii=False).encode(),
                ContentType="application/json",
                IfMatch=f'"{manifest.etag}"',
            )
        except ClientError as error:
            if _is_precondition_failed(error):
                return False
            raise
        return True

    # ------------------------------------------------------------------------------------------ health
    def put_metrics(self, values: dict[str, float], units: dict[str, str]) -> None:
        """One PutMetricData of this run's values: namespace ``catalog_sync_metrics_namespace``,
        dimension ``service=reconciliation``, timestamped with the wall clock (alarms judge "now")."""
        now = self.clock()
        dimensions = [{"Name": "service", "Value": "reconciliation"}]
        self.clients.cloudwatch.put_metric_data(
            Namespace=self.settings.metrics_namespace,
            MetricData=[
                {"MetricName": name, "Dimensions": dimensions, "Timestamp": now, "Value": value, "Unit": units[name]}
                for name, value in values.items()
            ],
        )

    def queue_depth(self, queue_url: str) -> int:
        """Visible + in flight + delayed: everything the queue still holds."""
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        got = self.clients.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)
        attributes = got["Attributes"]
        return sum(int(attributes.get(name, 0)) for name in names)

    def oldest_message_age(self) -> timedelta | None:
        """The queue's ApproximateAgeOfOldestMessage from CloudWatch (AWS/SQS), latest 1-minute maximum.

        SQS has no queue attribute for it, and peeking (ReceiveMessage with VisibilityTimeout=0) would
        raise every message's receive count toward the redrive policy's maxReceiveCount: hourly peeks
        alone could push an unprocessed message into the DLQ. CloudWatch reads nothing from the queue.
        None when there is no datapoint in the last 15 minutes (SQS stops publishing for idle queues).
        """
        queue_name = self.settings.queue_url.rstrip("/").rsplit("/", 1)[-1]
        end = self.clock()
        result = self.clients.cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "oldest",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SQS",
                            "MetricName": "ApproximateAgeOfOldestMessage",
                            "Dimensions": [{"Name": "QueueName", "Value": queue_name}],
                        },
                        "Period": 60,
                        "Stat": "Maximum",
                    },
                }
            ],
            StartTime=end - timedelta(minutes=15),
            EndTime=end + timedelta(minutes=1),
            ScanBy="TimestampDescending",
        )
        values = result["MetricDataResults"][0].get("Values", []) if result["MetricDataResults"] else []
        return timedelta(seconds=float(values[0])) if values else None
