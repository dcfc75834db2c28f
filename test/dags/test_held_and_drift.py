"""Held and discarded windows, and the drift schedule: the DAG's side of guardrails and drift checks.

- held (a guardrail stopped the window before anything was sent): not final, not delivered, never
  archived, never re-enqueued (an operator owns it), listed by health and warned about in the summary;
- discarded (an operator dropped it): final, and its files are archived;
- drift: once per ``catalog_sync_drift_check_every_hours`` a ``catalog-sync.drift-check`` message, which
  the worker answers (the DAG never calls Meta).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from catalog_sync_reconcile import checks, sweep
from catalog_sync_reconcile.contract import ContractError, drift_check_message, validate_manifest, validate_message
from catalog_sync_reconcile.decisions import (
    archive_verdict,
    drift_check_due,
    held_manifests,
    held_rules,
    straggler_verdict,
    unfinished_manifests,
)
from catalog_sync_reconcile.model import coverage_index
from catalog_sync_reconcile.settings import SettingsError, load_settings
from sweep_helpers import World, as_manifest, manifest_body, minutes, source
from test_decisions import ANCHOR, GRACE, STALE, STUCK, covering, landing, manifest
from test_sweep_moto import run_at

HELD_INFO = {
    "at": "2026-11-25T17:00:00.000Z",
    "knownProducts": 5,
    "rules": [
        {
            "rule": "near-zero-price",
            "message": "5 item(s) priced at or below GUARDRAIL_NEAR_ZERO_PRICE=0.01, "
            "more than GUARDRAIL_MAX_NEAR_ZERO_ITEMS=0",
            "value": 5,
            "threshold": 0,
            "evidence": {"count": 5, "of": 5, "examples": [{"id": "P1", "old": "9.99 USD", "new": "0.01 USD"}]},
        }
    ],
}


def held_body(file: Any, at: datetime) -> dict[str, Any]:
    body = manifest_body("held", [source(file)], at=at)
    body["held"] = HELD_INFO
    validate_manifest(body)
    return body


def discarded_body(file: Any, at: datetime) -> dict[str, Any]:
    body = held_body(file, at)
    body.update(
        state="discarded",
        finishedAt=body["updatedAt"],
        discarded={"by": "bob", "reason": "export zeroed prices", "at": body["updatedAt"]},
    )
    validate_manifest(body)
    return body


class TestDecisions:
    @pytest.mark.parametrize("state", ["held", "discarded"])
    def test_a_held_or_discarded_manifest_covers_its_file_so_it_is_never_re_enqueued(self, state: str) -> None:
        file = landing(age=minutes(120))
        m = manifest(state, file, updated_ago=minutes(120))
        assert straggler_verdict(file, covering(file, m), ANCHOR, GRACE) == "covered"

    def test_a_held_manifest_keeps_its_file_in_landing_whatever_else_covers_it(self) -> None:
        file = landing()
        assert archive_verdict(file, [manifest("held", file)], ANCHOR, STALE) == "held"
        both = [manifest("finished", file), manifest("held", file)]
        assert archive_verdict(file, covering(file, *both), ANCHOR, STALE) == "held"

    def test_a_discarded_manifest_is_final_and_lets_its_file_be_archived(self) -> None:
        file = landing()
        assert archive_verdict(file, [manifest("discarded", file)], ANCHOR, STALE) == "ready"
        dropped_and_abandoned = covering(file, manifest("discarded", file), manifest("abandoned", file))
        assert archive_verdict(file, dropped_and_abandoned, ANCHOR, STALE) == "ready"
        waiting = covering(file, manifest("discarded", file), manifest("submitted", file))
        assert archive_verdict(file, waiting, ANCHOR, STALE) == "waiting"

    def test_held_manifests_are_listed_with_their_rules_and_not_counted_as_unfinished(self) -> None:
        file = landing()
        held = as_manifest("synced/manifests/x/h.json", held_body(file, ANCHOR - minutes(300)))
        other = manifest("finished", landing("b.csv"))
        assert held_manifests([other, held]) == [held]
        assert held_rules(held) == [HELD_INFO["rules"][0]["message"]]
        index = coverage_index([held, other])
        assert unfinished_manifests([held, other], index, ANCHOR, STUCK, STALE) == []

    def test_drift_checks_are_due_once_per_period_and_never_when_disabled(self) -> None:
        day = timedelta(hours=24)
        assert drift_check_due(None, ANCHOR, day) is True
        assert drift_check_due(ANCHOR - minutes(60), ANCHOR, day) is False
        assert drift_check_due(ANCHOR - day, ANCHOR, day) is True
        assert drift_check_due(None, ANCHOR, None) is False


class TestContract:
    def test_the_drift_check_and_release_messages_follow_the_shared_schema(self) -> None:
        message = drift_check_message(ANCHOR, dry_run=True)
        sent_at = "2026-11-25T17:30:00.000Z"
        assert message == {"kind": "catalog-sync.drift-check", "version": 1, "dryRun": True, "sentAt": sent_at}
        release = {"kind": "catalog-sync.release", "version": 1, "manifestKey": "k", "by": "alice", "sentAt": sent_at}
        validate_message(release)
        with pytest.raises(ContractError, match="by"):
            validate_message({**release, "by": ""})

    def test_held_and_discarded_manifests_follow_the_shared_schema(self) -> None:
        file = landing()
        validate_manifest(discarded_body(file, ANCHOR))
        bad = held_body(file, ANCHOR)
        bad["held"] = {"at": bad["updatedAt"], "knownProducts": 5, "rules": []}
        with pytest.raises(ContractError, match="rules"):
            validate_manifest(bad)

    def test_drift_settings(self) -> None:
        def settings(**values: str) -> Any:
            names = {f"catalog_sync_{k}": v for k, v in {"stack_name": "s", **values}.items()}
            return load_settings(lambda name, default: names.get(name, default))

        default = settings()
        assert default.drift_check_every == timedelta(hours=24) and default.drift_dry_run is False
        assert settings(drift_check_every_hours="0").drift_check_every is None
        assert settings(drift_dry_run="true").drift_dry_run is True
        with pytest.raises(SettingsError, match="catalog_sync_drift_dry_run must be true or false"):
            settings(drift_dry_run="maybe")


def test_a_held_file_stays_a_discarded_one_is_archived_and_health_warns(stack: Any) -> None:
    w = World(stack)
    held_file, dropped_file = w.put_landing("held.csv"), w.put_landing("dropped.csv")
    anchor = datetime.now(timezone.utc) + timedelta(hours=2)
    held_key = w.put_manifest(held_body(held_file, anchor - minutes(100)))
    dropped_key = w.put_manifest(discarded_body(dropped_file, anchor - minutes(100)))
    w.drain()

    run = run_at(stack, anchor, drift_check_every_hours=0)
    tasks = {
        "stragglers": sweep.stragglers,
        "stuck": sweep.stuck,
        "archive": sweep.archive,
        "health": checks.health,
        "drift": sweep.drift,
    }
    reports = {name: task(run) for name, task in tasks.items()}

    assert w.sweep_messages() == []  # neither file is re-enqueued, no re-check, drift disabled
    assert reports["stragglers"]["covered"] == 2
    assert reports["archive"]["held"] == 1 and reports["archive"]["moved"] == 1
    assert w.landing_keys() == {held_file.key} and w.archive_keys() == {"archive/dropped.csv"}
    assert w.manifest(held_key)["state"] == "held"
    assert w.manifest(dropped_key)["state"] == "discarded"  # final as it is; never rewritten to archived
    health = reports["health"]
    rules = held_rules(as_manifest(held_key, w.manifest(held_key)))
    assert health["heldManifests"] == 1 and health["held"] == [{"key": held_key, "rules": rules}]
    assert health["manifestsUnfinished"] == 0 and health["breaches"] == []
    assert reports["drift"] == {**reports["drift"], "disabled": 1, "sent": 0}
    summary, problems = checks.summarize(reports)
    assert problems == []
    assert summary["warnings"] == [
        "windows held by a guardrail, nothing sent, their files stay in landing/ (catalog-sync release or discard): "
        f"1: {held_key} ({HELD_INFO['rules'][0]['message']})"
    ]


def test_the_drift_task_asks_for_a_drift_check_once_per_period(stack: Any) -> None:
    w = World(stack)
    w.drain()
    anchor = datetime.now(timezone.utc) + timedelta(hours=1)

    first = sweep.drift(run_at(stack, anchor, drift_check_every_hours=24, drift_dry_run="true"))
    messages = w.sweep_messages()
    assert [m["kind"] for m in messages] == ["catalog-sync.drift-check"] and messages[0]["dryRun"] is True
    validate_message(messages[0])
    assert first["sent"] == 1 and first["messageId"]

    again = sweep.drift(run_at(stack, anchor + minutes(60), drift_check_every_hours=24))
    assert again["recentlySent"] == 1 and w.sweep_messages() == []

    later = sweep.drift(run_at(stack, anchor + timedelta(hours=24), drift_check_every_hours=24))
    assert later["sent"] == 1 and [m["dryRun"] for m in w.sweep_messages()] == [False]

    # A failed drift task is a problem of the run; a report absent from the mapping is a task not run here.
    assert checks.summarize({"drift": None})[1] == ["drift: no report (the task failed; see its log)"]
