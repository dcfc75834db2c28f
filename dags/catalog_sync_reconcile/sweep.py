"""One function per task of the DAG: read, decide (``decisions``), act (``storage``), report.

Each returns a small JSON-able report (the task's XCom): counts, plus at most ``SAMPLE`` keys so an
operator sees which files or manifests were touched without the XCom growing with the backlog.

Failpoints (``failpoints.py``, armed only by ``CATALOG_SYNC_FAILPOINTS``): ``straggler.after-send`` and
``recheck.after-send`` sit between a message and its marker; the archive ones are in ``archive``.
The ``health`` task and the run summary are in ``checks``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from catalog_sync_reconcile import failpoints
from catalog_sync_reconcile.aws import Clients, resolve_resources, utcnow
from catalog_sync_reconcile.contract import drift_check_message, iso, recheck_message, straggler_message
from catalog_sync_reconcile.decisions import (
    archive_verdict,
    drift_check_due,
    manifest_fully_archived,
    may_send,
    recheck_verdict,
    straggler_verdict,
)
from catalog_sync_reconcile.failpoints import failpoint
from catalog_sync_reconcile.model import FINISHED, coverage_index
from catalog_sync_reconcile.settings import Settings, load_settings
from catalog_sync_reconcile.storage import Storage

log = logging.getLogger(__name__)
SAMPLE = 20
TASKS = ("stragglers", "stuck", "archive", "health", "drift")


class ArchiveVerificationError(RuntimeError):
    """An archive copy did not match its source; the landing file was kept."""


@dataclasses.dataclass(frozen=True)
class Run:
    """What one task of one DAG run works with."""

    settings: Settings
    storage: Storage
    anchor: datetime


def _may_act(counts: dict, marker, anchor, resend_after, done: int, cap: int) -> bool:
    """Whether a message may go now: not sent within ``resend_after`` (its marker), and this run's cap
    not reached; counts why not."""
    if not may_send(marker.anchor if marker else None, anchor, resend_after):
        counts["recentlySent"] += 1
        return False
    if done >= cap:
        counts["deferred"] += 1
        return False
    return True


def _send_marked(storage: Storage, marker_key: str, anchor: datetime, message: dict, point: str) -> str:
    """Sends the message, then records its marker (so the next run knows it went); returns its id."""
    message_id = storage.send(message)
    failpoint(point)
    storage.put_marker(marker_key, anchor, message, message_id)
    return message_id


def open_run(
    anchor: datetime,
    get_variable: Callable[[str, str], Any],
    clients: Clients | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Run:
    """Reads the Variables, resolves bucket/queue names (from the stack when left empty).

    A malformed ``CATALOG_SYNC_FAILPOINTS`` fails here, before the task has done anything.
    """
    failpoints.check()
    settings = load_settings(get_variable)
    clients = clients or Clients(settings.aws_conn_id)
    settings = resolve_resources(settings, clients)
    return Run(settings, Storage(settings, clients, clock), anchor)


STRAGGLER_COUNTS = (
    "files", "fresh", "covered", "inFlight", "noManifest", "neverSubmitted",
    "sent", "recentlySent", "deferred", "markersDeleted", "invalidManifests",
)  # fmt: skip
STUCK_COUNTS = (
    "manifests", "submittedRecently", "stuck", "unknownFate", "sent", "recentlySent", "deferred",
    "markersDeleted", "invalidManifests",
)  # fmt: skip
ARCHIVE_COUNTS = (
    "files", "ready", "notCovered", "held", "waiting", "unknownFate", "neverDelivered", "moved", "changed",
    "verifyFailed", "deferred", "manifestsArchived", "manifestsWaiting", "manifestConflicts",
    "invalidManifests",
)  # fmt: skip


def _camel(verdict: str) -> str:
    """Report keys are camelCase like the manifests' (no-manifest -> noManifest)."""
    head, *rest = verdict.split("-")
    return head + "".join(part.title() for part in rest)


def _report(run: Run, names: tuple[str, ...], counts: Counter[str], **extra: Any) -> dict[str, Any]:
    """Every count of the task, zeros included, so a report always has the same shape."""
    unknown = set(counts) - set(names)
    if unknown:
        raise ValueError(f"report counts not declared: {sorted(unknown)}")
    return {"anchor": iso(run.anchor), **{name: counts[name] for name in names}, **extra}


def _prune_markers(storage: Any, obsolete: set[str]) -> int:
    """Deletes the "already sent" markers whose subject is settled; returns how many."""
    for marker_key in sorted(obsolete):
        storage.delete_marker(marker_key)
    return len(obsolete)


def stragglers(run: Run) -> dict[str, Any]:
    """Re-enqueues landing files past the grace period that no submitted manifest covers.

    A file already re-enqueued within the grace period (marker under ``<synced>/sweep/straggler/``) is
    not sent again; markers of files that left landing, changed or got covered are deleted.
    """
    s, storage, anchor = run.settings, run.storage, run.anchor
    files = storage.landing_files()
    manifests, invalid = storage.manifests(anchor)
    index = coverage_index(manifests)
    markers = storage.markers("straggler")
    counts: Counter[str] = Counter(files=len(files), invalidManifests=len(invalid))
    keep: set[str] = set()
    sent: list[str] = []
    for file in sorted(files, key=lambda f: f.key):
        verdict = straggler_verdict(file, index.get(file.identity, []), anchor, s.straggler_grace)
        counts[_camel(verdict)] += 1
        marker_key = storage.straggler_marker_key(file)
        marker = markers.get(marker_key)
        if marker is not None and marker.message.get("etag") != file.etag:
            marker = None  # a marker for older content of the key says nothing about this one
        if marker is not None and verdict != "covered":
            keep.add(marker_key)
        if verdict not in ("no-manifest", "never-submitted"):
            continue
        if not _may_act(counts, marker, anchor, s.straggler_grace, len(sent), s.max_actions_per_task):
            continue
        message = straggler_message(file.bucket, file.key, file.etag, verdict, storage.clock())
        message_id = _send_marked(storage, marker_key, anchor, message, "straggler.after-send")
        keep.add(marker_key)
        counts["sent"] += 1
        sent.append(file.key)
        log.info("straggler %s (%s, etag %s): message %s", file.key, verdict, file.etag, message_id)
    counts["markersDeleted"] = _prune_markers(storage, markers.keys() - keep)
    return _report(run, STRAGGLER_COUNTS, counts, sentKeys=sent[:SAMPLE])


def stuck(run: Run) -> dict[str, Any]:
    """Sends a status re-check for each manifest submitted longer than the threshold and not final, and
    for each finished manifest with items of unknown fate (the worker then retries those items).

    A manifest already re-checked within the threshold (marker under ``<synced>/sweep/recheck/``) is not
    sent again; markers of manifests that got delivered, archived or abandoned are deleted.
    """
    s, storage, anchor = run.settings, run.storage, run.anchor
    manifests, invalid = storage.manifests(anchor)
    markers = storage.markers("recheck")
    counts: Counter[str] = Counter(manifests=len(manifests), invalidManifests=len(invalid))
    keep: set[str] = set()
    sent: list[str] = []
    unknown_keys: list[str] = []
    for manifest in sorted(manifests, key=lambda m: m.key):
        verdict = recheck_verdict(manifest, anchor, s.stuck_after)
        if verdict == "none":
            continue
        marker_key = storage.recheck_marker_key(manifest)
        marker = markers.get(marker_key)
        if marker is not None:
            keep.add(marker_key)
        counts[_camel(verdict)] += 1
        if verdict == "submitted-recently":
            continue
        if verdict == "unknown-fate":
            unknown_keys.append(manifest.key)
            log.warning("manifest %s is finished with items of unknown fate: re-check", manifest.key)
        if not _may_act(counts, marker, anchor, s.stuck_after, len(sent), s.max_actions_per_task):
            continue
        message = recheck_message(manifest.key, storage.clock())
        message_id = _send_marked(storage, marker_key, anchor, message, "recheck.after-send")
        keep.add(marker_key)
        counts["sent"] += 1
        sent.append(manifest.key)
        log.info(
            "%s manifest %s (submitted %s): re-check message %s",
            verdict,
            manifest.key,
            iso(manifest.submitted_at),
            message_id,
        )
    counts["markersDeleted"] = _prune_markers(storage, markers.keys() - keep)
    return _report(run, STUCK_COUNTS, counts, sentKeys=sent[:SAMPLE], unknownFateKeys=unknown_keys[:SAMPLE])


def archive(run: Run) -> dict[str, Any]:
    """Moves delivered files (``archive_verdict``), then marks delivered manifests whose every source
    moved as archived. A file one of whose manifests has items of unknown fate stays in landing/."""
    s, storage, anchor = run.settings, run.storage, run.anchor
    files = storage.landing_files()
    manifests, invalid = storage.manifests(anchor)
    index = coverage_index(manifests)
    counts: Counter[str] = Counter(files=len(files), invalidManifests=len(invalid))
    in_landing = {f.identity for f in files}
    moved: list[str] = []
    failed: list[str] = []
    for file in sorted(files, key=lambda f: f.key):
        verdict = archive_verdict(file, index.get(file.identity, []), anchor, s.stale_pending)
        counts[_camel(verdict)] += 1
        if verdict != "ready":
            continue
        if len(moved) + len(failed) >= s.max_actions_per_task:
            counts["deferred"] += 1
            continue
        outcome = storage.move_to_archive(file)
        counts[_camel(outcome)] += 1
        if outcome == "moved":
            in_landing.discard(file.identity)
            moved.append(file.key)
            log.info("archived %s -> %s", file.key, storage.archive_key(file.key))
        elif outcome == "changed":
            log.info("%s changed since it was listed; judged again next run", file.key)
        else:
            failed.append(file.key)

    archived_cache: dict[tuple[str, str, str], bool] = {}
    marked: list[str] = []
    for manifest in sorted(manifests, key=lambda m: m.key):
        if manifest.state != FINISHED:
            continue
        for identity in manifest.source_identities():
            if identity not in archived_cache:
                archived_cache[identity] = storage.source_archived(*identity, in_landing=in_landing)
        if not manifest_fully_archived(manifest, archived_cache):
            counts["manifestsWaiting"] += 1
        elif storage.mark_archived(manifest):
            counts["manifestsArchived"] += 1
            marked.append(manifest.key)
            log.info("manifest %s: archived", manifest.key)
        else:
            counts["manifestConflicts"] += 1
            log.info("manifest %s changed since it was read; retried next run", manifest.key)
    report = _report(run, ARCHIVE_COUNTS, counts, movedKeys=moved[:SAMPLE], archivedManifests=marked[:SAMPLE])
    if failed:
        log.error("archive report: %s", report)
        raise ArchiveVerificationError(
            f"{len(failed)} archive copies failed verification (landing kept): {', '.join(failed[:SAMPLE])}"
        )
    return report


DRIFT_COUNTS = ("sent", "recentlySent", "disabled")


def drift(run: Run) -> dict[str, Any]:
    """Asks the worker for a drift check (``catalog-sync.drift-check``) once per
    ``catalog_sync_drift_check_every_hours``: the worker reads the catalog back from Meta, sends stale and
    missing items again through the send gate and reports orphans (it is the only one that calls Meta).
    The marker ``<synced>/sweep/drift/check.json`` remembers the anchor of the run that last asked.
    """
    s, storage, anchor = run.settings, run.storage, run.anchor
    counts: Counter[str] = Counter()
    if s.drift_check_every is None:
        counts["disabled"] = 1
        return _report(run, DRIFT_COUNTS, counts, dryRun=s.drift_dry_run, messageId=None)
    marker_key = storage.drift_marker_key()
    marker = storage.markers("drift").get(marker_key)
    if not drift_check_due(marker.anchor if marker else None, anchor, s.drift_check_every):
        counts["recentlySent"] = 1
        return _report(run, DRIFT_COUNTS, counts, dryRun=s.drift_dry_run, messageId=None)
    message = drift_check_message(storage.clock(), dry_run=s.drift_dry_run)
    message_id = storage.send(message)
    storage.put_marker(marker_key, anchor, message, message_id)
    counts["sent"] = 1
    log.info("drift check requested (dry run: %s): message %s", s.drift_dry_run, message_id)
    return _report(run, DRIFT_COUNTS, counts, dryRun=s.drift_dry_run, messageId=message_id)


