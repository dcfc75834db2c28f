"""Every decision of the sweep, as pure functions of what was read and of the run's anchor time.

No I/O and no clock here: "now" is always the run's anchor (``sweep_anchor``), so a retried or a manual
run decides exactly as the scheduled one did, and tests can place a run anywhere in time.

Vocabulary
- A manifest *covers* a landing file when one of its sources has the file's bucket, key and (unquoted)
  ETag: it describes exactly that content, not an older or newer upload of the key.
- *Final* states: finished, archived, abandoned. A pending manifest that has not been updated for the
  stale threshold and whose file another finished/archived manifest also covers counts as abandoned
  for that file: the worker took the work over and the leftover will never move on.
- A manifest is *delivered* when its state is finished (or archived) AND ``counts.unknown`` is 0: Meta
  has said how every item ended (accepted, rejected with a reason, or superseded by newer data). A
  finished manifest with items of unknown fate (the worker before the "unknown is not delivered" change
  wrote those) is not delivered; a missing or malformed ``counts`` object is not delivered either.
- A file is *delivered* when every covering manifest that is not abandoned is delivered, and at least
  one is. Only a delivered file leaves landing/: a file whose covering manifests are all abandoned, or
  one of whose manifests still has items of unknown fate, stays (the no-lost-update property).
- A landing key is a *CSV file* when it ends with the suffix (``.csv``) in any letter case; other keys
  under the landing prefix (``notes.txt``, ``data.csv.gz``) are *unsupported*: reported, never sent or
  moved. Folder markers (keys ending in ``/``) are neither.
- *Held* (a guardrail stopped the window before anything was sent; it waits for ``catalog-sync release``
  or ``discard``): not final, not delivered, never archived, never re-enqueued (an operator owns it), and
  reported by ``health`` and the summary. *Discarded* (an operator dropped a held window): final, not
  delivered, and it lets its files be archived: the operator decided their rows are not to be sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

PENDING, SUBMITTED, FINISHED = "pending", "submitted", "finished"
ARCHIVED, ABANDONED = "archived", "abandoned"
HELD, DISCARDED = "held", "discarded"
FINAL_STATES = frozenset({FINISHED, ARCHIVED, ABANDONED, DISCARDED})
DELIVERED_STATES = frozenset({FINISHED, ARCHIVED})
#: Final states that let a file be archived: delivered, or dropped by an operator (``discard``).
SETTLED_STATES = DELIVERED_STATES | {DISCARDED}
#: States in which someone owns the file's content: the worker (sent), or an operator (held, discarded).
OWNED_STATES = frozenset({SUBMITTED, FINISHED, ARCHIVED, HELD, DISCARDED})
#: States in which items have been handed to Meta (their handles recorded).
SENT_STATES = frozenset({SUBMITTED, FINISHED, ARCHIVED})
HOUR = timedelta(hours=1)
#: At most this many names in one health message (the rest is counted, "and N more").
NAMED = 20
#: The counts a manifest must carry, and the optional ones, each a whole number >= 0.
_REQUIRED_COUNTS = ("items", "accepted", "rejected", "unknown")
_OPTIONAL_COUNTS = ("superseded", "rowsRejected", "calls")


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

    @property
    def sent_at(self) -> datetime:
        """When its items went to Meta: submittedAt, else createdAt (never later than the real send)."""
        return (
            parse_time(self.body.get("submittedAt")) or parse_time(self.body.get("createdAt")) or self.last_modified
        )

    def source_identities(self) -> set[tuple[str, str, str]]:
        return {(s["bucket"], s["key"], unquote_etag(s["etag"])) for s in self.body["sources"]}


LandingKind = Literal["csv", "folder", "unsupported"]


def landing_kind(key: str, suffix: str) -> LandingKind:
    """What a key under the landing prefix is: a CSV file (suffix in any case), a folder marker, or not
    a file the worker reads (reported as unsupported, never re-enqueued or archived)."""
    if key.endswith("/"):
        return "folder"
    return "csv" if key.lower().endswith(suffix.lower()) else "unsupported"


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def unknown_items(manifest: Manifest) -> int | None:
    """``counts.unknown``; None when the counts object is missing or malformed (then nothing is known).

    ``counts.superseded`` (items not re-sent because a newer source of the same product was sent) is
    optional and counts as final: it is checked for shape only.
    """
    counts = manifest.body.get("counts")
    if not isinstance(counts, Mapping):
        return None
    if not all(_whole(counts.get(name)) for name in _REQUIRED_COUNTS):
        return None
    if not all(_whole(counts[name]) for name in _OPTIONAL_COUNTS if name in counts):
        return None
    return int(counts["unknown"])


def is_delivered(manifest: Manifest) -> bool:
    """Finished (or archived) and Meta's outcome known for every item (see the module doc)."""
    return manifest.state in DELIVERED_STATES and unknown_items(manifest) == 0


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
    - covered: some manifest for this exact content reached submitted (or later); the worker owns it. A
      held or discarded manifest covers it too: an operator owns it (re-reading it would hold it again).
    - in-flight: its newest manifest is pending but was updated within the grace period: the worker is
      probably calling items_batch right now (or waiting out Meta's throttling); do not race it.
    - no-manifest: nothing covers it: its event was lost, or the worker never got to it.
    - never-submitted: every manifest for it stayed pending (or was abandoned) long enough.
    """
    if anchor - file.last_modified < grace:
        return "fresh"
    if not covering:
        return "no-manifest"
    if any(m.state in OWNED_STATES for m in covering):
        return "covered"
    if any(m.state == PENDING and anchor - m.updated_at < grace for m in covering):
        return "in-flight"
    return "never-submitted"


ArchiveVerdict = Literal["ready", "not-covered", "held", "waiting", "unknown-fate", "never-delivered"]


def archive_verdict(
    file: LandingFile, covering: Sequence[Manifest], anchor: datetime, stale: timedelta
) -> ArchiveVerdict:
    """A file moves to archive/ only when it is delivered: every covering manifest that is not abandoned
    is delivered (finished or archived, no item of unknown fate) or discarded, and at least one is.

    - not-covered: no manifest (the straggler path handles it).
    - held: a covering manifest is held by a guardrail: the file waits for ``release`` or ``discard``.
    - waiting: some covering manifest is pending or submitted (a file in several manifests moves only
      when all of them are final).
    - unknown-fate: every covering manifest is final, but a finished (or archived) one has items whose
      fate at Meta is unknown, or counts that cannot be read: the file stays, the ``stuck`` task asks
      the worker to re-check that manifest.
    - never-delivered: all covering manifests are abandoned, none finished: the rows did not reach the
      catalog through any of them, so the file stays (and becomes a never-submitted straggler).
    A discarded manifest counts as settled: an operator decided its rows are not to be sent.
    """
    if not covering:
        return "not-covered"
    states = [effective_state(m, covering, anchor, stale) for m in covering]
    if HELD in states:
        return "held"
    if any(state not in FINAL_STATES for state in states):
        return "waiting"
    if any(state in DELIVERED_STATES and not is_delivered(m) for m, state in zip(covering, states)):
        return "unknown-fate"
    if not any(state in SETTLED_STATES for state in states):
        return "never-delivered"
    return "ready"


def is_stuck(manifest: Manifest, anchor: datetime, stuck_after: timedelta) -> bool:
    """Submitted longer than the threshold and still not finished: Meta's status needs another look."""
    return manifest.state == SUBMITTED and anchor - manifest.submitted_at >= stuck_after


RecheckVerdict = Literal["none", "submitted-recently", "stuck", "unknown-fate"]


def recheck_verdict(manifest: Manifest, anchor: datetime, stuck_after: timedelta) -> RecheckVerdict:
    """Whether the worker should be asked to re-check a manifest's items at Meta.

    - stuck: submitted at least ``stuck_after`` ago and still not finished.
    - submitted-recently: submitted, younger than that; the worker is still polling it.
    - unknown-fate: finished with items of unknown fate (or unreadable counts): the worker stopped
      following it, nothing else will; re-checked at once (then once per ``stuck_after``, by marker) so
      the worker retries those items.
    - none: pending (the straggler path), delivered, archived or abandoned.
    """
    if manifest.state == SUBMITTED:
        return "stuck" if is_stuck(manifest, anchor, stuck_after) else "submitted-recently"
    if manifest.state == FINISHED and not is_delivered(manifest):
        return "unknown-fate"
    return "none"


def unfinished_manifests(
    manifests: Iterable[Manifest],
    index: Mapping[tuple[str, str, str], Sequence[Manifest]],
    anchor: datetime,
    stuck_after: timedelta,
    stale: timedelta,
) -> list[Manifest]:
    """Manifests not final (in the delivered sense) past the stuck limit (metric ``ManifestsUnfinished``).

    - submitted: submitted at least ``stuck_after`` ago;
    - finished with items of unknown fate: sent at least ``stuck_after`` ago;
    - pending: not updated for ``stuck_after``, unless another manifest took over every one of its
      files (then it is abandoned for all of them and will never move on; nothing is waiting on it).
    Archived and abandoned manifests are final.
    """
    found: list[Manifest] = []
    for manifest in manifests:
        state = manifest.state
        if state == SUBMITTED:
            late = anchor - manifest.submitted_at >= stuck_after
        elif state == FINISHED and not is_delivered(manifest):
            late = anchor - manifest.sent_at >= stuck_after
        elif state == PENDING:
            late = anchor - manifest.updated_at >= stuck_after and not all(
                effective_state(manifest, index.get(identity, [manifest]), anchor, stale) == ABANDONED
                for identity in manifest.source_identities()
            )
        else:
            late = False
        if late:
            found.append(manifest)
    return found


def unknown_fate(
    manifests: Iterable[Manifest], anchor: datetime, older_than: timedelta
) -> list[tuple[Manifest, int]]:
    """(manifest, items of unknown fate) for every manifest whose items went to Meta at least
    ``older_than`` before the anchor and whose outcome is still not known for some of them.

    Counted in submitted, finished and archived manifests (archived ones with unknown items were
    archived before "unknown is not delivered"); pending and abandoned manifests sent nothing that
    the worker follows. A manifest whose counts cannot be read counts as one item.
    """
    found: list[tuple[Manifest, int]] = []
    for manifest in manifests:
        if manifest.state not in SENT_STATES or anchor - manifest.sent_at < older_than:
            continue
        unknown = unknown_items(manifest)
        unknown = 1 if unknown is None else unknown
        if unknown > 0:
            found.append((manifest, unknown))
    return found


def held_manifests(manifests: Iterable[Manifest]) -> list[Manifest]:
    """Manifests a guardrail held, waiting for an operator (``catalog-sync release`` or ``discard``), by key.

    Not counted as unfinished (``unfinished_manifests``): nothing will move them but a person, and the
    worker's WindowsHeld alarm has fired for each; health reports them and the summary warns.
    """
    return sorted((m for m in manifests if m.state == HELD), key=lambda m: m.key)


def held_rules(manifest: Manifest) -> list[str]:
    """The rules a held manifest tripped, as their messages (empty when the manifest says none)."""
    held = manifest.body.get("held")
    rules = held.get("rules", []) if isinstance(held, Mapping) else []
    return [str(r.get("message", r.get("rule", "?"))) for r in rules if isinstance(r, Mapping)]


def drift_check_due(last_sent_anchor: datetime | None, anchor: datetime, every: timedelta | None) -> bool:
    """Whether the ``drift`` task asks the worker for a drift check in this run: once per ``every``
    (``catalog_sync_drift_check_every_hours``; None: never), judged by the anchor of the run that last
    asked, kept in a marker like the other messages' (``may_send``)."""
    if every is None:
        return False
    return may_send(last_sent_anchor, anchor, every)


def oldest_undelivered_age(
    files: Iterable[LandingFile],
    index: Mapping[tuple[str, str, str], Sequence[Manifest]],
    anchor: datetime,
    stale: timedelta,
) -> timedelta:
    """Age (LastModified vs the anchor) of the oldest landing CSV file not delivered; 0 when none.

    A delivered file is the ``archive`` task's to move in this very run, so it is not counted.
    """
    ages = [
        anchor - file.last_modified
        for file in files
        if archive_verdict(file, index.get(file.identity, []), anchor, stale) != "ready"
    ]
    return max([timedelta(0), *ages])


#: The metrics each sweep publishes (namespace ``catalog_sync_metrics_namespace``, dimension
#: ``service=reconciliation``); CloudWatch alarms are defined on these exact names.
METRIC_UNITS: dict[str, str] = {
    "OldestUndeliveredFileAgeSeconds": "Seconds",
    "ManifestsUnfinished": "Count",
    "ItemsUnknownFate": "Count",
    "UnsupportedLandingFiles": "Count",
}


def sweep_metrics(
    *, oldest_undelivered: timedelta, manifests_unfinished: int, items_unknown_fate: int, unsupported_files: int
) -> dict[str, float]:
    """The metric values of one run, by name (see ``METRIC_UNITS``)."""
    return {
        "OldestUndeliveredFileAgeSeconds": float(round(oldest_undelivered.total_seconds())),
        "ManifestsUnfinished": float(manifests_unfinished),
        "ItemsUnknownFate": float(items_unknown_fate),
        "UnsupportedLandingFiles": float(unsupported_files),
    }


def named(items: Sequence[str], limit: int = NAMED) -> str:
    """``a, b, c`` or ``a, b, ... and 7 more``: names in a message without it growing with the backlog."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


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
    """A delivered finished manifest becomes archived once every one of its sources is in archive/.

    One with items of unknown fate stays finished even when its files were archived (by an older DAG,
    or through another manifest): archived would say "done" and end its re-checks.
    """
    sources = manifest.source_identities()
    return (
        manifest.state == FINISHED
        and is_delivered(manifest)
        and all(archived.get(identity, False) for identity in sources)
    )


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
    #: What the value is made of, when it has names (the manifests holding items of unknown fate).
    subjects: tuple[str, ...] = ()

    @property
    def excess(self) -> float:
        return self.value - self.threshold

    def describe(self) -> str:
        text = (
            f"{self.check} is {self.value:g} {self.unit}, above {self.variable}={self.threshold:g} "
            f"by {self.excess:g} {self.unit}"
        )
        return f"{text}: {named(self.subjects)}" if self.subjects else text

    def as_dict(self) -> dict[str, Any]:
        fields = {**dataclasses.asdict(self), "subjects": list(self.subjects[:NAMED])}
        return {**fields, "excess": self.excess, "message": self.describe()}


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
    unknown_fate: Sequence[tuple[Manifest, int]] = (),
    unknown_fate_after: timedelta = timedelta(hours=2),
    max_items_unknown_fate: int = -1,
) -> list[Breach]:
    """Every threshold crossed (strictly above). A negative threshold, or None for the age, disables it.

    An unknown queue age (CloudWatch has no datapoint: the queue has been idle) crosses nothing.
    ``unknown_fate`` is ``unknown_fate(manifests, anchor, unknown_fate_after)``; its breach names the
    manifests, most items first.
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
    items_unknown = sum(count for _, count in unknown_fate)
    if max_items_unknown_fate >= 0 and items_unknown > max_items_unknown_fate:
        ranked = sorted(unknown_fate, key=lambda pair: (-pair[1], pair[0].key))
        breaches.append(
            Breach(
                f"items of unknown fate sent {unknown_fate_after.total_seconds() / 60:g}+ minutes ago",
                "catalog_sync_max_items_unknown_fate",
                items_unknown,
                max_items_unknown_fate,
                "items",
                tuple(f"{m.key} ({m.state}, {count})" for m, count in ranked),
            )
        )
    return breaches
