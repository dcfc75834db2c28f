"""The sweep's S3 and SQS I/O: listing landing files and manifests, the sweep markers, and sending messages.
Archive moves are in ``archive``, CloudWatch and queue metrics in ``monitoring``, clients in ``aws``; keys
come from ``layout`` (schemas/storage-layout.json).

Every write is safe to repeat:
- manifests are rewritten only with ``If-Match`` on the ETag read, so a concurrent worker update wins
  and the DAG retries on its next run;
- a move is copy, verify, delete (``archive``);
- a message is sent before its marker is written: a crash in between re-sends it (harmless, the
  worker is idempotent) rather than losing it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from catalog_sync_reconcile import layout
from catalog_sync_reconcile.archive import ArchiveMoves
from catalog_sync_reconcile.aws import Clients, is_missing, utcnow
from catalog_sync_reconcile.contract import ContractError, iso, validate_manifest
from catalog_sync_reconcile.model import (
    LandingFile,
    Manifest,
    landing_kind,
    parse_time,
    unquote_etag,
    within_lookback,
)
from catalog_sync_reconcile.monitoring import Monitoring
from catalog_sync_reconcile.settings import Settings

log = logging.getLogger(__name__)

MARKER_KIND = "catalog-sync.sweep-marker"
_READ_THREADS = 16


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




class Storage(ArchiveMoves, Monitoring):
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
            if is_missing(error):
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
        return layout.key("stragglerMarker", syncedPrefix=self.settings.synced_prefix, landingKey=file.key)

    def recheck_marker_key(self, manifest: Manifest) -> str:
        hour, _, name = manifest.key.removeprefix(self.settings.manifests_prefix).partition("/")
        return layout.key(
            "recheckMarker",
            syncedPrefix=self.settings.synced_prefix,
            hour=hour,
            manifestId=name.removesuffix(".json"),
        )

    def drift_marker_key(self) -> str:
        """The one marker of the drift schedule: the anchor of the run that last asked for a drift check."""
        return layout.key("driftCheckMarker", syncedPrefix=self.settings.synced_prefix)

    def markers(self, kind: Literal["straggler", "recheck", "drift"]) -> dict[str, Marker]:
        """marker key -> marker; unreadable markers count as absent (the message is sent again)."""
        prefix = self.settings.sweep_markers_prefix(kind)
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
