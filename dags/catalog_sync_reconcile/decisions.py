"""Every decision of the sweep, as pure functions of what was read and of the run's anchor time.

No I/O and no clock here: "now" is always the run's anchor (``sweep_anchor``), so a retried or a manual
run decides exactly as the scheduled one did, and tests can place a run anywhere in time.

Vocabulary
- A manifest *covers* a landing file when one of its sources has the file's bucket, key and (unquoted)
  ETag: it describes exactly that content, not an older or newer upload of the key.
- *Final* states: finished, archived, abandoned. A pending manifest that has not been updated for the
  stale threshold and whose file another finished/archived manifest also covers counts as abandoned
  for that file: the worker took the work over and the leftover will never move on.
- *Delivered*: covered by at least one finished or archived manifest. A file whose covering manifests
  are all abandoned was never delivered, so it never leaves landing/ (the no-lost-update property).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

PENDING, SUBMITTED, FINISHED = "pending", "submitted", "finished"
ARCHIVED, ABANDONED = "archived", "abandoned"
FINAL_STATES = frozenset({FINISHED, ARCHIVED, ABANDONED})
DELIVERED_STATES = frozenset({FINISHED, ARCHIVED})
HOUR = timedelta(hours=1)


def unquote_etag(etag: str) -> str:
    """S3 returns ETags in double quotes; manifests and messages carry them bare."""
    return etag.strip().strip('"')


def parse_time(value: str | None) -> datetime | None:
    """Parses the schema's RFC 3339 date-times (``Z`` suffix included) into aware datetimes."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))


def sweep_anchor(context: Mapping[str, Any]) -> datetime:
    """The one "now" of a run: the data interval's end, or ``run_after`` when the run has no interval.

    Scheduled runs (``CronTriggerTimetable``) have a zero-width interval ending at the scheduled time;
    manual and asset-triggered runs may have none, and ``dag_run.run_after`` always exists on Airflow 3.
    A retry of a task reads the same value again, so it takes the same decisions.
    """
    end = context.get("data_interval_end")
    if end is not None:
        return end
    return context["dag_run"].run_after


@dataclasses.dataclass(frozen=True)
class LandingFile:
    """The current version of one object under the landing prefix (from ListObjectsV2)."""

    bucket: str
    key: str
    etag: str
    size: int
    last_modified: datetime

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.bucket, self.key, self.etag)


@dataclasses.dataclass(frozen=True)
class Manifest:
    """A manifest as read: its key, the ETag to write back against (If-Match) and its validated body."""

    key: str
    etag: str
    last_modified: datetime
    body: Mapping[str, Any]

    @property
    def state(self) -> str:
        return str(self.body["state"])

    @property
    def updated_at(self) -> datetime:
        return parse_time(self.body["updatedAt"]) or self.last_modified

    @property
    def submitted_at(self) -> datetime:
        """When it reached submitted; the last update for a submitted manifest that lacks the field."""
        return parse_time(self.body.get("submittedAt")) or self.updated_at

    def source_identities(self) -> set[tuple[str, str, str]]:
        return {(s["bucket"], s["key"], unquote_etag(s["etag"])) for s in self.body["sources"]}


def within_lookback(manifest_modified: datetime, anchor: datetime, lookback: timedelta) -> bool:
    """Manifests are read when their LastModified is after ``anchor - lookback``.

    No upper bound: a manifest written after the anchor (a late or manual run) is newer truth, and
    ignoring it would make a covered file look like a straggler. A file whose every manifest fell out
    of the lookback is re-sent as a straggler; the worker then finds its rows unchanged and sends
    nothing to Meta, so the bound costs at most one idle pass over an old file.
    """
    return manifest_modified > anchor - lookback


def coverage_index(manifests: Iterable[Manifest]) -> dict[tuple[str, str, str], list[Manifest]]:
    """(bucket, key, etag) -> the manifests that cover it."""
    index: dict[tuple[str, str, str], list[Manifest]] = {}
    for manifest in manifests:
        for identity in manifest.source_identities():
            index.setdefault(identity, []).append(manifest)
    return index


def effective_state(
    manifest: Manifest, covering: Sequence[Manifest], anchor: datetime, stale: timedelta
) -> str:
    """The manifest's state as far as one file is concerned (see the module doc on stale pendings)."""
    if manifest.state != PENDING or anchor - manifest.updated_at < stale:
        return manifest.state
    taken_over = any(other is not manifest and other.state in DELIVERED_STATES for other in covering)
    return ABANDONED if taken_over else PENDING


StragglerVerdict = Literal["fresh", "covered", "in-flight", "no-manifest", "never-submitted"]


def straggler_verdict(
    file: LandingFile, covering: Sequence[Manifest], anchor: datetime, grace: timedelta
) -> StragglerVerdict:
    """Whether a landing file needs a straggler message, and with which reason.

    - fresh: younger than the grace period; its S3 event may still be on its way.
    - covered: some manifest for this exact content reached submitted (or later); the worker owns it.
    - in-flight: its newest manifest is pending but was updated within the grace period: the worker is
      probably calling items_batch right now (or waiting out Meta's throttling); do not race it.
    - no-manifest: nothing covers it: its event was lost, or the worker never got to it.
    - never-submitted: every manifest for it stayed pending (or was abandoned) long enough.
    """
    if anchor - file.last_modified < grace:
        return "fresh"
    if not covering:
        return "no-manifest"
    if any(m.state in (SUBMITTED, FINISHED, ARCHIVED) for m in covering):
        return "covered"
    if any(m.state == PENDING and anchor - m.updated_at < grace for m in covering):
        return "in-flight"
    return "never-submitted"


ArchiveVerdict = Literal["ready", "not-covered", "waiting", "never-delivered"]


def archive_verdict(
    file: LandingFile, covering: Sequence[Manifest], anchor: datetime, stale: timedelta
) -> ArchiveVerdict:
    """A file moves to archive/ only when every manifest covering it is final and one delivered it.

    - not-covered: no manifest (the straggler path handles it).
    - waiting: some covering manifest is pending or submitted (a file in several manifests moves only
      when all of them are final).
    - never-delivered: all covering manifests are abandoned, none finished: the rows did not reach the
      catalog through any of them, so the file stays (and becomes a never-submitted straggler).
    """
    if not covering:
        return "not-covered"
    states = [effective_state(m, covering, anchor, stale) for m in covering]
    if any(state not in FINAL_STATES for state in states):
        return "waiting"
    if not any(state in DELIVERED_STATES for state in states):
        return "never-delivered"
    return "ready"


def is_stuck(manifest: Manifest, anchor: datetime, stuck_after: timedelta) -> bool:
    """Submitted longer than the threshold and still not finished: Meta's status needs another look."""
    return manifest.state == SUBMITTED and anchor - manifest.submitted_at >= stuck_after


def may_send(last_sent_anchor: datetime | None, anchor: datetime, resend_after: timedelta) -> bool:
    """Whether a message for the same subject may be sent again.

    The DAG keeps one small marker object per subject under ``<synced>/sweep/`` holding the anchor of
    the run that last sent it. A marker is the choice over the alternatives because: tagging the landing
    object would modify the files the worker reads (landing stays untouched until archived), tags on a
    manifest would be lost on every worker rewrite; SQS deduplication exists only on FIFO queues and
    for 5 minutes, and the worker's queue is a standard one fed by S3 events. A marker costs one PUT per
    message and one LIST per run, is visible to an operator, and is deleted once its subject is settled.

    Comparing anchors (not wall-clock times) makes a second run right after the first send nothing,
    and a run whose anchor lies before the marker's (a manual re-run of an older slot) send nothing too.
    """
    if last_sent_anchor is None:
        return True
    return anchor - last_sent_anchor >= resend_after


def manifest_fully_archived(manifest: Manifest, archived: Mapping[tuple[str, str, str], bool]) -> bool:
    """A finished manifest becomes archived once every one of its sources is in archive/."""
    sources = manifest.source_identities()
    return manifest.state == FINISHED and all(archived.get(identity, False) for identity in sources)


def rows_rejected(manifest: Manifest) -> int:
    counts = manifest.body["counts"]
    if "rowsRejected" in counts:
        return int(counts["rowsRejected"])
    return sum(int(s["rows"]["rejected"]) for s in manifest.body["sources"])


def rejections_in_hour(manifests: Iterable[Manifest], anchor: datetime) -> tuple[int, int]:
    """(CSV rows rejected, items Meta rejected) in the hour ``(anchor - 1h, anchor]``.

    Each manifest is counted once in one hour, so hourly runs neither miss nor double count: its rows
    rejected in the hour it was created (the CSV check happens before the flush), its items rejected in
    the hour it finished (Meta's verdict). Abandoned manifests are skipped: their rows are counted again
    by the manifest that took their work over.
    """
    start = anchor - HOUR
    rows = items = 0
    for manifest in manifests:
        if manifest.state == ABANDONED:
            continue
        created = parse_time(manifest.body["createdAt"])
        if created is not None and start < created <= anchor:
            rows += rows_rejected(manifest)
        finished = parse_time(manifest.body.get("finishedAt"))
        if manifest.state in DELIVERED_STATES and finished is not None and start < finished <= anchor:
            items += int(manifest.body["counts"]["rejected"])
    return rows, items


@dataclasses.dataclass(frozen=True)
class Breach:
    """One health threshold crossed."""

    check: str
    variable: str
    value: float
    threshold: float
    unit: str

    @property
    def excess(self) -> float:
        return self.value - self.threshold

    def describe(self) -> str:
        return (
            f"{self.check} is {self.value:g} {self.unit}, above {self.variable}={self.threshold:g} "
            f"by {self.excess:g} {self.unit}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "excess": self.excess, "message": self.describe()}


def health_breaches(
    *,
    dlq_messages: int,
    oldest_message_age: timedelta | None,
    rows_rejected_hour: int,
    items_rejected_hour: int,
    max_dlq_messages: int,
    max_oldest_message: timedelta | None,
    max_rows_rejected_per_hour: int,
    max_items_rejected_per_hour: int,
) -> list[Breach]:
    """Every threshold crossed (strictly above). A negative threshold, or None for the age, disables it.

    An unknown queue age (CloudWatch has no datapoint: the queue has been idle) crosses nothing.
    """
    breaches: list[Breach] = []
    if max_dlq_messages >= 0 and dlq_messages > max_dlq_messages:
        breaches.append(
            Breach("DLQ depth", "catalog_sync_max_dlq_messages", dlq_messages, max_dlq_messages, "messages")
        )
    if (
        max_oldest_message is not None
        and oldest_message_age is not None
        and oldest_message_age > max_oldest_message
    ):
        breaches.append(
            Breach(
                "age of the oldest queue message",
                "catalog_sync_max_oldest_message_minutes",
                round(oldest_message_age.total_seconds() / 60, 1),
                max_oldest_message.total_seconds() / 60,
                "minutes",
            )
        )
    if max_rows_rejected_per_hour >= 0 and rows_rejected_hour > max_rows_rejected_per_hour:
        breaches.append(
            Breach(
                "CSV rows rejected in the last hour",
                "catalog_sync_max_rows_rejected_per_hour",
                rows_rejected_hour,
                max_rows_rejected_per_hour,
                "rows",
            )
        )
    if max_items_rejected_per_hour >= 0 and items_rejected_hour > max_items_rejected_per_hour:
        breaches.append(
            Breach(
                "items rejected by Meta in the last hour",
                "catalog_sync_max_items_rejected_per_hour",
                items_rejected_hour,
                max_items_rejected_per_hour,
                "items",
            )
        )
    return breaches
