"""Moving delivered files from landing/ to archive/, and marking their manifests archived.

A move is copy, verify, delete; a repeated copy overwrites the archive copy with the same bytes, and the
delete names the exact version copied (or, without versioning, ``If-Match`` on its ETag), so a newer
upload of the same key is never removed. A manifest is rewritten only with ``If-Match`` on the ETag read.
Failpoints (``failpoints.py``, armed only by ``CATALOG_SYNC_FAILPOINTS``) mark the places between two
writes of a move: ``archive.after-copy`` and ``archive.after-delete``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from botocore.exceptions import ClientError

from catalog_sync_reconcile import layout
from catalog_sync_reconcile.aws import Clients, is_missing, is_precondition_failed
from catalog_sync_reconcile.contract import iso, validate_manifest
from catalog_sync_reconcile.failpoints import failpoint
from catalog_sync_reconcile.model import LandingFile, Manifest, unquote_etag
from catalog_sync_reconcile.settings import Settings

log = logging.getLogger(__name__)

#: User metadata on each archive copy: which landing version it came from (an archive key can be
#: reused by a later upload of the same landing key; this tells which content the copy holds).
SOURCE_ETAG_META = "catalog-sync-source-etag"
SOURCE_VERSION_META = "catalog-sync-source-version-id"
#: Content headers a copy with MetadataDirective=REPLACE must restate to stay identical.
_CONTENT_HEADERS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl")

MoveOutcome = Literal["moved", "changed", "verify-failed"]


class ArchiveMoves:
    """The archive half of ``Storage`` (a mixin: ``Storage`` holds the settings, clients and clock)."""

    settings: Settings
    clients: Clients
    clock: Callable[[], datetime]

    def archive_key(self, landing_key: str) -> str:
        relative = landing_key.removeprefix(self.settings.landing_prefix)
        return layout.key("archivedFile", archivePrefix=self.settings.archive_prefix, relativeKey=relative)

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
            if is_missing(error):
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
            if is_precondition_failed(error):
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
            if is_precondition_failed(error):
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
            if is_missing(error):
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
            if is_precondition_failed(error):
                return False
            raise
        return True
