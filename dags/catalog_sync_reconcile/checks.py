"""The ``health`` task (thresholds, metrics, held and invalid manifests) and the run's ``summary``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from catalog_sync_reconcile.contract import iso
from catalog_sync_reconcile.decisions import (
    held_manifests,
    held_rules,
    recheck_verdict,
    unfinished_manifests,
    unknown_fate,
)
from catalog_sync_reconcile.health import (
    METRIC_UNITS,
    health_breaches,
    named,
    oldest_undelivered_age,
    rejections_in_hour,
    sweep_metrics,
)
from catalog_sync_reconcile.model import coverage_index
from catalog_sync_reconcile.sweep import SAMPLE, TASKS, Run

log = logging.getLogger(__name__)


def health(run: Run) -> dict[str, Any]:
    """Measures DLQ depth, the queue's oldest message age, the last hour's rejections and the items of
    unknown fate; reports unsupported keys under the landing prefix; publishes the run's metrics.

    Returns the report with a ``breaches`` list; the DAG task fails when it is not empty. Metrics are
    published first (they need only S3 reads); a failure to publish is logged and reported
    (``metricsError``, a summary warning), never a reason to fail the task.
    """
    s, storage, anchor = run.settings, run.storage, run.anchor
    files, unsupported = storage.landing()
    manifests, invalid = storage.manifests(anchor)
    index = coverage_index(manifests)
    rows_rejected, items_rejected = rejections_in_hour(manifests, anchor)
    fate = unknown_fate(manifests, anchor, s.unknown_fate_after)
    items_unknown = sum(count for _, count in fate)
    unfinished = unfinished_manifests(manifests, index, anchor, s.stuck_after, s.stale_pending)
    finished_unknown = sorted(
        m.key for m in manifests if recheck_verdict(m, anchor, s.stuck_after) == "unknown-fate"
    )
    metrics = sweep_metrics(
        oldest_undelivered=oldest_undelivered_age(files, index, anchor, s.stale_pending),
        manifests_unfinished=len(unfinished),
        items_unknown_fate=items_unknown,
        unsupported_files=len(unsupported),
    )
    metrics_error = None
    try:
        storage.put_metrics(metrics, METRIC_UNITS)
    except Exception as error:  # noqa: BLE001 - metrics are reported, the sweep's own work goes on
        metrics_error = f"{type(error).__name__}: {error}"
        log.exception("could not publish the sweep metrics to %s", s.metrics_namespace)
    if unsupported:
        log.warning("unsupported files in %s (not CSV, ignored): %s", s.landing_prefix, named(unsupported))
    dlq_messages = storage.queue_depth(s.dlq_url)
    queue_messages = storage.queue_depth(s.queue_url)
    oldest = storage.oldest_message_age()
    breaches = health_breaches(
        dlq_messages=dlq_messages,
        oldest_message_age=oldest,
        rows_rejected_hour=rows_rejected,
        items_rejected_hour=items_rejected,
        max_dlq_messages=s.max_dlq_messages,
        max_oldest_message=s.max_oldest_message,
        max_rows_rejected_per_hour=s.max_rows_rejected_per_hour,
        max_items_rejected_per_hour=s.max_items_rejected_per_hour,
        unknown_fate=fate,
        unknown_fate_after=s.unknown_fate_after,
        max_items_unknown_fate=s.max_items_unknown_fate,
    )
    for breach in breaches:
        log.error("health threshold crossed: %s", breach.describe())
    held = held_manifests(manifests)
    for manifest in held:
        log.warning("manifest %s is held by a guardrail: %s", manifest.key, "; ".join(held_rules(manifest)))
    return {
        "anchor": iso(anchor),
        "dlqMessages": dlq_messages,
        "queueMessages": queue_messages,
        "oldestMessageAgeSeconds": None if oldest is None else round(oldest.total_seconds()),
        "rowsRejectedLastHour": rows_rejected,
        "itemsRejectedLastHour": items_rejected,
        "itemsUnknownFate": items_unknown,
        "unknownFateManifests": [
            {"key": m.key, "state": m.state, "unknown": count}
            for m, count in sorted(fate, key=lambda pair: (-pair[1], pair[0].key))[:SAMPLE]
        ],
        "finishedWithUnknownItems": len(finished_unknown),
        "finishedWithUnknownKeys": finished_unknown[:SAMPLE],
        "manifestsUnfinished": len(unfinished),
        "unfinishedKeys": sorted(m.key for m in unfinished)[:SAMPLE],
        "landingPrefix": s.landing_prefix,
        "unsupportedLandingFiles": len(unsupported),
        "unsupportedLandingKeys": unsupported[:SAMPLE],
        "metrics": {"namespace": s.metrics_namespace, **metrics},
        "metricsPublished": metrics_error is None,
        "metricsError": metrics_error,
        "invalidManifests": len(invalid),
        "heldManifests": len(held),
        "held": [{"key": m.key, "rules": held_rules(m)} for m in held[:SAMPLE]],
        "breaches": [b.as_dict() for b in breaches],
    }


def warnings_of(health_report: Mapping[str, Any]) -> list[str]:
    """What an operator must see but what does not fail the run: unsupported landing keys, finished
    manifests with items of unknown fate (kept in landing/, re-checked), metrics not published."""

    def listed(count_field: str, keys_field: str) -> str:
        count, keys = int(health_report[count_field]), list(health_report.get(keys_field, []))
        more = f" and {count - len(keys)} more" if count > len(keys) else ""
        return f"{count}: {', '.join(keys)}{more}"

    warnings: list[str] = []
    if health_report.get("unsupportedLandingFiles"):
        prefix = health_report.get("landingPrefix", "landing/")
        keys = listed("unsupportedLandingFiles", "unsupportedLandingKeys")
        warnings.append(f"unsupported files in {prefix} (not CSV: not sent, not archived): {keys}")
    if health_report.get("finishedWithUnknownItems"):
        keys = listed("finishedWithUnknownItems", "finishedWithUnknownKeys")
        warnings.append(
            f"finished manifests with items of unknown fate (their files stay in landing/, re-checked): {keys}"
        )
    if health_report.get("metricsError"):
        warnings.append(f"metrics not published: {health_report['metricsError']}")
    if health_report.get("heldManifests"):
        held = list(health_report.get("held", []))
        count = int(health_report["heldManifests"])
        more = f" and {count - len(held)} more" if count > len(held) else ""
        shown = ", ".join(f"{h['key']} ({'; '.join(h.get('rules', [])) or 'no rule recorded'})" for h in held)
        warnings.append(
            f"windows held by a guardrail, nothing sent, their files stay in landing/ "
            f"(catalog-sync release or discard): {count}: {shown}{more}"
        )
    return warnings


def summarize(reports: Mapping[str, Mapping[str, Any] | None]) -> tuple[dict[str, Any], list[str]]:
    """Combines the task reports; also returns the problems that make the run fail.

    A report that is None means the task failed before reporting (its own log says why); a task absent
    from ``reports`` did not run here. ``warnings`` (see ``warnings_of``) are listed in the summary without
    failing the run.
    """
    problems = [
        f"{task}: no report (the task failed; see its log)"
        for task in TASKS
        if task in reports and reports[task] is None
    ]
    health_report = reports.get("health") or {}
    problems += [f"health: {b['message']}" for b in health_report.get("breaches", [])]
    summary: dict[str, Any] = {
        task: dict(reports[task]) if reports.get(task) is not None else None for task in TASKS
    }
    summary["problems"] = problems
    summary["warnings"] = warnings_of(health_report)
    return summary, problems
