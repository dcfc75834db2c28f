"""What the sweep reads, as values: landing files, manifests and their states, and the vocabulary the
decisions (``decisions``, ``health``) are written in. Pure: no I/O and no clock.

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
