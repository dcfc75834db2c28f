"""The sweep's health checks and metrics, pure, with the run's anchor time: the age of the oldest file
not delivered, unfinished manifests, rejection rates, and the thresholds they breach (``health_breaches``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from catalog_sync_reconcile.decisions import archive_verdict, unknown_fate
from catalog_sync_reconcile.model import (
    ABANDONED,
    DELIVERED_STATES,
    HOUR,
    NAMED,
    LandingFile,
    Manifest,
    parse_time,
)



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
