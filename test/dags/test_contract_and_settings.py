"""The shared JSON Schemas (one file for both languages) and the Variables with their defaults."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from catalog_sync_reconcile import contract
from catalog_sync_reconcile.settings import VARIABLES, SettingsError, load_settings
from conftest import ROOT
from sweep_helpers import manifest_body, source


@pytest.mark.parametrize("name", ["manifest.schema.json", "sweep-message.schema.json", "storage-layout.json"])
def test_schema_beside_the_module_is_a_symlink_to_the_repo_schema(name: str) -> None:
    beside = ROOT / "dags" / "catalog_sync_reconcile" / name
    assert beside.is_symlink() and os.readlink(beside) == f"../../schemas/{name}"
    assert beside.resolve() == (ROOT / "schemas" / name).resolve()


def test_manifest_validation_rejects_what_the_worker_would_reject() -> None:
    at = datetime(2026, 11, 25, 17, 5, tzinfo=timezone.utc)
    good = manifest_body("finished", [source(("b", "landing/a.csv", "e"))], at=at)
    contract.validate_manifest(good)
    contract.validate_manifest({**good, "counts": {**good["counts"], "superseded": 2}})  # optional, final items
    for broken, expected in [
        ({**good, "state": "done"}, "state"),
        ({**good, "createdAt": "2026-13-40T00:00:00Z"}, "createdAt"),
        ({**good, "updatedAt": "2026-11-25 17:00"}, "updatedAt"),
        ({**good, "extra": 1}, "Additional properties"),
        ({k: v for k, v in good.items() if k != "counts"}, "'counts' is a required property"),
        ({**good, "counts": {**good["counts"], "superseded": -1}}, "counts/superseded"),
    ]:
        with pytest.raises(contract.ContractError, match=expected):
            contract.validate_manifest(broken)


def test_messages_follow_the_sweep_message_schema() -> None:
    at = datetime(2026, 11, 25, 17, 30, 0, 250000, tzinfo=timezone.utc)
    assert contract.straggler_message("b", "landing/a b.csv", "e1", "no-manifest", at) == {
        "kind": "catalog-sync.straggler",
        "version": 1,
        "bucket": "b",
        "key": "landing/a b.csv",
        "etag": "e1",
        "reason": "no-manifest",
        "sentAt": "2026-11-25T17:30:00.250Z",
    }
    assert contract.recheck_message("synced/manifests/x/m.json", at)["kind"] == "catalog-sync.status-recheck"
    with pytest.raises(contract.ContractError, match="reason|oneOf|valid"):
        contract.straggler_message("b", "k", "e", "bored", at)
    with pytest.raises(contract.ContractError):
        contract.recheck_message("", at)


def test_every_variable_has_a_default_and_the_defaults_load() -> None:
    assert all(name.islower() and isinstance(default, str) for name, (default, _) in VARIABLES.items())
    s = load_settings(lambda name, default: default)
    assert s.aws_conn_id == "aws_default" and s.stack_name == "catalog-sync-dev"
    assert (s.landing_prefix, s.archive_prefix, s.synced_prefix) == ("landing/", "archive/", "synced/")
    assert (s.straggler_grace, s.stuck_after, s.lookback) == (
        timedelta(minutes=15),
        timedelta(minutes=30),
        timedelta(days=7),
    )
    assert s.missing_resources() == ["landing_bucket", "synced_bucket", "queue_url", "dlq_url"]  # from the stack
    assert s.manifests_prefix == "synced/manifests/" and s.sweep_markers_prefix("recheck") == "synced/sweep/recheck/"


def test_unknown_fate_and_metrics_settings_have_sane_defaults() -> None:
    s = load_settings(lambda name, default: default)
    assert s.unknown_fate_after == timedelta(hours=2) and s.max_items_unknown_fate == 0
    assert s.metrics_namespace == "CatalogSync" and s.landing_suffix == ".csv"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("catalog_sync_straggler_grace_minutes", "soon", "straggler_grace_minutes must be a whole number"),
        ("catalog_sync_lookback_days", "0", "catalog_sync_lookback_days must be >= 1"),
        ("catalog_sync_landing_prefix", "landing", "catalog_sync_landing_prefix must end with '/'"),
        ("catalog_sync_archive_prefix", "landing/archive/", "must not overlap"),
        ("catalog_sync_aws_conn_id", "", "aws_conn_id must not be empty"),
        ("catalog_sync_metrics_namespace", " ", "metrics_namespace must not be empty"),
        ("catalog_sync_unknown_fate_after_minutes", "-1", "unknown_fate_after_minutes must be >= 0"),
        ("catalog_sync_max_items_unknown_fate", "none", "max_items_unknown_fate must be a whole number"),
        ("catalog_sync_stack_name", "", "set catalog_sync_stack_name or every one of"),
    ],
)
def test_a_bad_variable_is_named_in_the_error(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(lambda name, default: value if name == variable else default)


def test_stack_outputs_fill_only_what_is_unset() -> None:
    s = load_settings(lambda name, default: "my-landing" if name == "catalog_sync_landing_bucket" else default)
    outputs = {"LandingBucketName": "x", "SyncedBucketName": "s", "QueueUrl": "q", "DeadLetterQueueUrl": "d"}
    filled = s.with_stack_outputs(outputs)
    names = (filled.landing_bucket, filled.synced_bucket, filled.queue_url, filled.dlq_url)
    assert names == ("my-landing", "s", "q", "d")
    with pytest.raises(SettingsError, match="catalog_sync_dlq_url \\(DeadLetterQueueUrl\\)"):
        s.with_stack_outputs({"SyncedBucketName": "s", "QueueUrl": "q"})


def test_every_variable_is_documented_in_the_dag_doc() -> None:
    doc = (ROOT / "dags" / "catalog_reconciliation.py").read_text()
    assert [name for name in VARIABLES if f"``catalog_sync_{name}``" not in doc] == []


def test_failure_notification_text_and_off_switch() -> None:
    from catalog_sync_reconcile.alerts import failure_message, notify_failure

    class TI:
        dag_id, task_id, run_id, try_number = "catalog_reconciliation", "health", "manual__x", 1

    context = {"ti": TI(), "exception": ValueError("health: DLQ depth is 2 messages, above ... by 2 messages")}
    subject, body = failure_message(context)
    assert subject == "catalog-sync: catalog_reconciliation.health failed"
    assert "Run: manual__x, try 1." in body and "DLQ depth is 2 messages" in body
    assert notify_failure(context, lambda name, default: default) is False  # no topic: nothing sent
