"""Configuration of the reconciliation DAG: Airflow Variables, each with a default.

Every Variable is named ``catalog_sync_<name>`` and read inside a task (never while the DAG file is
parsed), so a change applies to the next run without a redeploy. Bucket and queue names default to the
outputs of the CloudFormation stack that ``infra/storage.yml`` creates (``catalog_sync_stack_name``), so
an environment deployed from the template needs no Variable at all; set them to point elsewhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from catalog_sync_reconcile import layout

VARIABLE_PREFIX = "catalog_sync_"

#: name (without prefix) -> (default, what it is). The single list of knobs; the DAG's doc shows it.
VARIABLES: dict[str, tuple[str, str]] = {
    "aws_conn_id": ("aws_default", "Airflow AWS connection; its extra may carry endpoint_url"),
    "stack_name": ("catalog-sync-dev", "CloudFormation stack whose outputs name the buckets and queues"),
    "landing_bucket": ("", "landing bucket; empty = stack output LandingBucketName"),
    "synced_bucket": ("", "synced bucket; empty = stack output SyncedBucketName"),
    "queue_url": ("", "worker queue; empty = stack output QueueUrl"),
    "dlq_url": ("", "dead-letter queue; empty = stack output DeadLetterQueueUrl"),
    "landing_prefix": ("landing/", "prefix of incoming files"),
    "landing_suffix": (
        ".csv",
        "keys ending with this suffix, in any letter case (.csv, .CSV), are CSV files; other keys under the "
        "landing prefix are reported as unsupported, never re-enqueued or archived",
    ),
    "archive_prefix": ("archive/", "prefix archived files move to (same bucket, same relative key)"),
    "synced_prefix": ("synced/", "prefix of manifests/ and of the DAG's sweep/ markers"),
    "straggler_grace_minutes": ("15", "a landing file younger than this is never a straggler"),
    "stuck_after_minutes": ("30", "a manifest submitted longer ago than this and not final is stuck"),
    "stale_pending_minutes": ("60", "a pending manifest idle this long beside a finished one is abandoned"),
    "lookback_days": ("7", "manifests whose LastModified is older than this are not read"),
    "max_actions_per_task": ("1000", "messages or moves per task and run; the rest waits for the next run"),
    "alarm_topic_arn": ("", "SNS topic a failed task publishes to; empty: Airflow's own alerting only"),
    "metrics_namespace": (
        "CatalogSync",
        "CloudWatch namespace of the metrics each run publishes (dimension service=reconciliation)",
    ),
    "unknown_fate_after_minutes": (
        "120",
        "items sent to Meta at least this long ago whose outcome is still unknown are counted by health",
    ),
    "drift_check_every_hours": (
        "24",
        "the drift task asks the worker to read the catalog back and repair drift this often; 0 never",
    ),
    "drift_dry_run": ("false", "true: drift checks only report (nothing sent again, nothing deleted)"),
    # Health thresholds: the task fails when a value is above its threshold; -1 disables a check.
    "max_dlq_messages": ("0", "messages in the dead-letter queue"),
    "max_oldest_message_minutes": ("30", "age of the queue's oldest message (CloudWatch)"),
    "max_rows_rejected_per_hour": ("100", "CSV rows rejected by the contract in the last hour"),
    "max_items_rejected_per_hour": ("100", "items rejected by Meta in the last hour"),
    "max_items_unknown_fate": ("0", "items of unknown fate sent at least unknown_fate_after_minutes ago"),
}

#: Stack output that supplies each resource Variable left empty.
STACK_OUTPUTS: dict[str, str] = {
    "landing_bucket": "LandingBucketName",
    "synced_bucket": "SyncedBucketName",
    "queue_url": "QueueUrl",
    "dlq_url": "DeadLetterQueueUrl",
}


class SettingsError(ValueError):
    """A Variable holds a value the DAG cannot use; the message names the Variable."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """The parsed Variables of one run. Resource names may still be empty until ``with_stack_outputs``."""

    aws_conn_id: str
    stack_name: str
    landing_bucket: str
    synced_bucket: str
    queue_url: str
    dlq_url: str
    landing_prefix: str
    landing_suffix: str
    archive_prefix: str
    synced_prefix: str
    straggler_grace: timedelta
    stuck_after: timedelta
    stale_pending: timedelta
    lookback: timedelta
    max_actions_per_task: int
    metrics_namespace: str
    unknown_fate_after: timedelta
    max_dlq_messages: int
    max_oldest_message: timedelta | None
    max_rows_rejected_per_hour: int
    max_items_rejected_per_hour: int
    max_items_unknown_fate: int
    #: None: no drift checks.
    drift_check_every: timedelta | None = None
    drift_dry_run: bool = False

    @property
    def manifests_prefix(self) -> str:
        return layout.folder("manifests", syncedPrefix=self.synced_prefix)

    def sweep_markers_prefix(self, kind: str) -> str:
        """Markers of messages already sent (see ``decisions.may_send``), one folder per kind."""
        return layout.folder("sweepMarkers", syncedPrefix=self.synced_prefix, markerKind=kind)

    def missing_resources(self) -> list[str]:
        return [name for name in STACK_OUTPUTS if not getattr(self, name)]

    def with_stack_outputs(self, outputs: Mapping[str, str]) -> Settings:
        """Fills the empty resource names from the stack's outputs; fails naming what is still missing."""
        filled = {
            name: outputs.get(output, "") for name, output in STACK_OUTPUTS.items() if not getattr(self, name)
        }
        result = dataclasses.replace(self, **filled)
        missing = result.missing_resources()
        if missing:
            raise SettingsError(
                f"stack {self.stack_name!r} has no output for "
                + ", ".join(f"{VARIABLE_PREFIX}{m} ({STACK_OUTPUTS[m]})" for m in missing)
                + "; set the Variable(s) or catalog_sync_stack_name"
            )
        return result


def load_settings(get: Callable[[str, str], Any]) -> Settings:
    """Reads each Variable through ``get(full_name, default)``: ``Variable.get`` in a task, dicts in tests."""
    raw = {
        name: str(get(VARIABLE_PREFIX + name, default)).strip() for name, (default, _) in VARIABLES.items()
    }

    def whole(name: str, minimum: int) -> int:
        try:
            value = int(raw[name])
        except ValueError:
            raise SettingsError(
                f"Variable {VARIABLE_PREFIX}{name} must be a whole number, got {raw[name]!r}"
            ) from None
        if value < minimum:
            raise SettingsError(f"Variable {VARIABLE_PREFIX}{name} must be >= {minimum}, got {value}")
        return value

    def prefix(name: str) -> str:
        value = raw[name]
        if not value.endswith("/") or value.startswith("/"):
            raise SettingsError(
                f"Variable {VARIABLE_PREFIX}{name} must end with '/' and not start with it, got {value!r}"
            )
        return value

    if not raw["aws_conn_id"]:
        raise SettingsError(f"Variable {VARIABLE_PREFIX}aws_conn_id must not be empty")
    if not raw["metrics_namespace"]:
        # Alarms on the sweep's metrics would see no data; an unset namespace must not switch them off.
        raise SettingsError(f"Variable {VARIABLE_PREFIX}metrics_namespace must not be empty")
    oldest = whole("max_oldest_message_minutes", -1)
    drift_every = whole("drift_check_every_hours", 0)
    if raw["drift_dry_run"].lower() not in ("true", "false"):
        raise SettingsError(
            f"Variable {VARIABLE_PREFIX}drift_dry_run must be true or false, got {raw['drift_dry_run']!r}"
        )
    settings = Settings(
        aws_conn_id=raw["aws_conn_id"],
        stack_name=raw["stack_name"],
        landing_bucket=raw["landing_bucket"],
        synced_bucket=raw["synced_bucket"],
        queue_url=raw["queue_url"],
        dlq_url=raw["dlq_url"],
        landing_prefix=prefix("landing_prefix"),
        landing_suffix=raw["landing_suffix"],
        archive_prefix=prefix("archive_prefix"),
        synced_prefix=prefix("synced_prefix"),
        straggler_grace=timedelta(minutes=whole("straggler_grace_minutes", 0)),
        stuck_after=timedelta(minutes=whole("stuck_after_minutes", 0)),
        stale_pending=timedelta(minutes=whole("stale_pending_minutes", 0)),
        lookback=timedelta(days=whole("lookback_days", 1)),
        max_actions_per_task=whole("max_actions_per_task", 1),
        metrics_namespace=raw["metrics_namespace"],
        unknown_fate_after=timedelta(minutes=whole("unknown_fate_after_minutes", 0)),
        max_dlq_messages=whole("max_dlq_messages", -1),
        max_oldest_message=None if oldest < 0 else timedelta(minutes=oldest),
        max_rows_rejected_per_hour=whole("max_rows_rejected_per_hour", -1),
        max_items_rejected_per_hour=whole("max_items_rejected_per_hour", -1),
        max_items_unknown_fate=whole("max_items_unknown_fate", -1),
        drift_check_every=timedelta(hours=drift_every) if drift_every > 0 else None,
        drift_dry_run=raw["drift_dry_run"].lower() == "true",
    )
    if settings.archive_prefix.startswith(settings.landing_prefix) or settings.landing_prefix.startswith(
        settings.archive_prefix
    ):
        # An archive inside landing/ would be swept again as new files, and the reverse too.
        raise SettingsError("catalog_sync_landing_prefix and catalog_sync_archive_prefix must not overlap")
    if settings.missing_resources() and not settings.stack_name:
        raise SettingsError(
            "set catalog_sync_stack_name or every one of "
            + ", ".join(VARIABLE_PREFIX + name for name in settings.missing_resources())
        )
    return settings
