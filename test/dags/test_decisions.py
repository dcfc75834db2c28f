"""The sweep's pure decisions, at and around every threshold (no AWS, no Airflow run)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from catalog_sync_reconcile.decisions import (
    archive_verdict,
    is_stuck,
    manifest_fully_archived,
    may_send,
    recheck_verdict,
    straggler_verdict,
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
from catalog_sync_reconcile.model import (
    coverage_index,
    effective_state,
    is_delivered,
    landing_kind,
    LandingFile,
    parse_time,
    unknown_items,
    unquote_etag,
    within_lookback,
)
from catalog_sync_reconcile.checks import summarize
from sweep_helpers import as_manifest, manifest_body, minutes, source

ANCHOR = datetime(2026, 11, 25, 17, 30, tzinfo=timezone.utc)
GRACE, STALE, STUCK = minutes(15), minutes(60), minutes(30)


def landing(name: str = "a.csv", age: timedelta = minutes(60), etag: str = "e1") -> LandingFile:
    return LandingFile("landing-bucket", f"landing/{name}", etag, 10, ANCHOR - age)


def manifest(state: str, *files: LandingFile, updated_ago: timedelta = minutes(20), **kwargs: object):
    sources = [source(f) for f in files]
    body = manifest_body(state, sources, at=ANCHOR - updated_ago, **kwargs)  # type: ignore[arg-type]
    return as_manifest(f"synced/manifests/x/{body['manifestId']}.json", body)


def covering(file: LandingFile, *manifests):
    return coverage_index(manifests).get(file.identity, [])


class TestStragglers:
    def test_a_file_younger_than_the_grace_period_is_fresh_whatever_covers_it(self) -> None:
        file = landing(age=GRACE - timedelta(seconds=1))
        assert straggler_verdict(file, [], ANCHOR, GRACE) == "fresh"

    def test_a_file_exactly_at_the_grace_period_without_manifest_is_a_straggler(self) -> None:
        assert straggler_verdict(landing(age=GRACE), [], ANCHOR, GRACE) == "no-manifest"

    @pytest.mark.parametrize("state", ["submitted", "finished", "archived"])
    def test_a_manifest_that_reached_submitted_covers_the_file(self, state: str) -> None:
        file = landing()
        assert straggler_verdict(file, covering(file, manifest(state, file)), ANCHOR, GRACE) == "covered"

    def test_a_manifest_for_other_content_of_the_key_does_not_cover(self) -> None:
        file, older = landing(etag="new"), landing(etag="old")
        assert covering(file, manifest("finished", older)) == []
        assert straggler_verdict(file, covering(file, manifest("finished", older)), ANCHOR, GRACE) == "no-manifest"

    def test_a_pending_manifest_updated_within_the_grace_period_is_in_flight(self) -> None:
        file = landing()
        pending = manifest("pending", file, updated_ago=minutes(14))
        assert straggler_verdict(file, [pending], ANCHOR, GRACE) == "in-flight"

    def test_a_pending_manifest_idle_for_the_grace_period_was_never_submitted(self) -> None:
        file = landing()
        pending = manifest("pending", file, updated_ago=GRACE)
        assert straggler_verdict(file, [pending], ANCHOR, GRACE) == "never-submitted"

    def test_only_abandoned_manifests_means_never_submitted(self) -> None:
        file = landing()
        assert straggler_verdict(file, [manifest("abandoned", file)], ANCHOR, GRACE) == "never-submitted"

    def test_submitted_beside_a_pending_one_is_covered(self) -> None:
        file = landing()
        both = [manifest("pending", file, updated_ago=minutes(300)), manifest("submitted", file)]
        assert straggler_verdict(file, both, ANCHOR, GRACE) == "covered"


class TestArchive:
    def test_not_covered(self) -> None:
        assert archive_verdict(landing(), [], ANCHOR, STALE) == "not-covered"

    @pytest.mark.parametrize("state", ["pending", "submitted"])
    def test_a_file_waits_while_a_manifest_is_not_final(self, state: str) -> None:
        file = landing()
        assert archive_verdict(file, [manifest(state, file)], ANCHOR, STALE) == "waiting"

    @pytest.mark.parametrize("state", ["finished", "archived"])
    def test_final_and_delivered_is_ready(self, state: str) -> None:
        file = landing()
        assert archive_verdict(file, [manifest(state, file)], ANCHOR, STALE) == "ready"

    def test_partly_final_waits(self) -> None:
        file = landing()
        both = [manifest("finished", file), manifest("submitted", file)]
        assert archive_verdict(file, both, ANCHOR, STALE) == "waiting"

    def test_a_stale_pending_taken_over_by_a_finished_manifest_counts_as_abandoned(self) -> None:
        file = landing()
        stale = manifest("pending", file, updated_ago=STALE)
        finished = manifest("finished", file)
        assert effective_state(stale, [stale, finished], ANCHOR, STALE) == "abandoned"
        assert archive_verdict(file, [stale, finished], ANCHOR, STALE) == "ready"

    def test_a_pending_younger_than_the_stale_threshold_still_holds_the_file(self) -> None:
        file = landing()
        pending = manifest("pending", file, updated_ago=STALE - timedelta(seconds=1))
        finished = manifest("finished", file)
        assert effective_state(pending, [pending, finished], ANCHOR, STALE) == "pending"
        assert archive_verdict(file, [pending, finished], ANCHOR, STALE) == "waiting"

    def test_a_stale_pending_without_a_final_manifest_is_not_abandoned(self) -> None:
        file = landing()
        stale = manifest("pending", file, updated_ago=STALE * 3)
        assert effective_state(stale, [stale], ANCHOR, STALE) == "pending"
        assert archive_verdict(file, [stale], ANCHOR, STALE) == "waiting"

    def test_all_abandoned_was_never_delivered_and_stays(self) -> None:
        file = landing()
        assert archive_verdict(file, [manifest("abandoned", file)], ANCHOR, STALE) == "never-delivered"

    def test_archived_beside_abandoned_is_ready(self) -> None:
        file = landing()
        both = [manifest("abandoned", file), manifest("archived", file)]
        assert archive_verdict(file, both, ANCHOR, STALE) == "ready"

    def test_a_manifest_is_archived_only_when_every_source_is(self) -> None:
        a, b = landing("a.csv"), landing("b.csv")
        m = manifest("finished", a, b)
        assert not manifest_fully_archived(m, {a.identity: True})
        assert manifest_fully_archived(m, {a.identity: True, b.identity: True})
        assert not manifest_fully_archived(manifest("archived", a), {a.identity: True})  # already archived


class TestStuckAndResend:
    def test_submitted_exactly_the_threshold_ago_is_stuck(self) -> None:
        m = manifest("submitted", landing(), submitted=ANCHOR - STUCK)
        assert is_stuck(m, ANCHOR, STUCK)
        later = manifest("submitted", landing(), submitted=ANCHOR - STUCK + timedelta(seconds=1))
        assert not is_stuck(later, ANCHOR, STUCK)

    @pytest.mark.parametrize("state", ["pending", "finished", "archived", "abandoned"])
    def test_only_submitted_manifests_are_stuck(self, state: str) -> None:
        assert not is_stuck(manifest(state, landing(), updated_ago=minutes(600)), ANCHOR, STUCK)

    def test_a_submitted_manifest_without_submitted_at_is_judged_by_its_last_update(self) -> None:
        m = manifest("submitted", landing(), updated_ago=minutes(40))
        m.body["submittedAt"] = None  # type: ignore[index]
        assert is_stuck(m, ANCHOR, STUCK)

    def test_resend_rules(self) -> None:
        assert may_send(None, ANCHOR, GRACE)
        assert not may_send(ANCHOR, ANCHOR, GRACE)  # the same run again
        assert not may_send(ANCHOR - GRACE + timedelta(seconds=1), ANCHOR, GRACE)
        assert may_send(ANCHOR - GRACE, ANCHOR, GRACE)
        assert not may_send(ANCHOR + minutes(60), ANCHOR, GRACE)  # a re-run of an older slot

    def test_lookback_bound(self) -> None:
        assert within_lookback(ANCHOR - timedelta(days=7) + timedelta(seconds=1), ANCHOR, timedelta(days=7))
        assert not within_lookback(ANCHOR - timedelta(days=7), ANCHOR, timedelta(days=7))
        assert within_lookback(ANCHOR + minutes(5), ANCHOR, timedelta(days=7))  # written after the anchor


class TestHealth:
    def test_rejections_are_counted_once_in_their_hour(self) -> None:
        f = landing()
        inside = manifest(
            "finished", landing("r.csv"), created=ANCHOR - minutes(59), finished=ANCHOR - minutes(1), items_rejected=4
        )
        inside.body["sources"][0]["rows"]["rejected"] = 3  # type: ignore[index]
        inside.body["counts"]["rowsRejected"] = 3  # type: ignore[index]
        created_before = manifest("finished", f, created=ANCHOR - minutes(60), finished=ANCHOR, items_rejected=2)
        created_before.body["counts"]["rowsRejected"] = 100  # type: ignore[index]
        finished_before = manifest(
            "archived", f, created=ANCHOR - minutes(90), finished=ANCHOR - minutes(60), items_rejected=5
        )
        abandoned = manifest("abandoned", f, created=ANCHOR - minutes(5))
        abandoned.body["counts"]["rowsRejected"] = 100  # type: ignore[index]
        pending = manifest("pending", f, created=ANCHOR - minutes(5))
        del pending.body["counts"]["rowsRejected"]  # type: ignore[attr-defined]
        pending.body["sources"][0]["rows"]["rejected"] = 7  # type: ignore[index]
        manifests = [inside, created_before, finished_before, abandoned, pending]
        assert rejections_in_hour(manifests, ANCHOR) == (3 + 7, 4 + 2)

    def test_breaches_say_which_threshold_and_by_how_much(self) -> None:
        breaches = health_breaches(
            dlq_messages=2,
            oldest_message_age=minutes(31.5),
            rows_rejected_hour=11,
            items_rejected_hour=10,
            max_dlq_messages=0,
            max_oldest_message=minutes(30),
            max_rows_rejected_per_hour=10,
            max_items_rejected_per_hour=10,
        )
        assert [b.describe() for b in breaches] == [
            "DLQ depth is 2 messages, above catalog_sync_max_dlq_messages=0 by 2 messages",
            "age of the oldest queue message is 31.5 minutes, above catalog_sync_max_oldest_message_minutes=30 by 1.5 minutes",
            "CSV rows rejected in the last hour is 11 rows, above catalog_sync_max_rows_rejected_per_hour=10 by 1 rows",
        ]

    def test_disabled_thresholds_and_unknown_age_cross_nothing(self) -> None:
        assert health_breaches(
            dlq_messages=5,
            oldest_message_age=None,
            rows_rejected_hour=500,
            items_rejected_hour=500,
            max_dlq_messages=-1,
            max_oldest_message=minutes(30),
            max_rows_rejected_per_hour=-1,
            max_items_rejected_per_hour=-1,
        ) == []

    def test_summary_names_failed_tasks_and_breaches(self) -> None:
        breach = {"message": "DLQ depth is 1 messages, above catalog_sync_max_dlq_messages=0 by 1 messages"}
        reports = {
            "stragglers": {"sent": 1},
            "stuck": {"sent": 0},
            "archive": None,
            "health": {"breaches": [breach]},
        }
        summary, problems = summarize(reports)
        assert problems == ["archive: no report (the task failed; see its log)", f"health: {breach['message']}"]
        assert summary["stragglers"] == {"sent": 1} and summary["archive"] is None
        assert summarize({k: {"breaches": []} for k in reports})[1] == []


def test_etag_and_time_parsing() -> None:
    assert unquote_etag('"abc-2"') == "abc-2"
    assert parse_time("2026-11-25T17:00:00.123Z") == datetime(2026, 11, 25, 17, 0, 0, 123000, tzinfo=timezone.utc)
    assert parse_time("2026-11-25T19:00:00+02:00") == datetime(2026, 11, 25, 17, 0, tzinfo=timezone.utc)
    assert parse_time(None) is None


class TestUnknownIsNotDelivered:
    """A finished manifest with items of unknown fate does not deliver its files (issue item 1)."""

    @pytest.mark.parametrize("state", ["finished", "archived"])
    def test_a_final_manifest_with_unknown_items_is_not_delivered_and_its_file_stays(self, state: str) -> None:
        file = landing()
        legacy = manifest(state, file, unknown=3)
        assert not is_delivered(legacy)
        assert archive_verdict(file, [legacy], ANCHOR, STALE) == "unknown-fate"
        assert is_delivered(manifest(state, file))  # unknown 0

    def test_a_delivered_manifest_beside_one_with_unknown_items_does_not_release_the_file(self) -> None:
        file = landing()
        both = [manifest("finished", file), manifest("finished", file, unknown=1)]
        assert archive_verdict(file, both, ANCHOR, STALE) == "unknown-fate"
        with_abandoned = [manifest("abandoned", file), manifest("finished", file, unknown=1)]
        assert archive_verdict(file, with_abandoned, ANCHOR, STALE) == "unknown-fate"

    @pytest.mark.parametrize(
        "counts",
        [
            None,
            "not an object",
            {"items": 10, "accepted": 10, "rejected": 0},  # no unknown
            {"items": 10, "accepted": 10, "rejected": 0, "unknown": "0"},
            {"items": 10, "accepted": 10, "rejected": 0, "unknown": -1},
            {"items": 10, "accepted": 10, "rejected": 0, "unknown": False},
            {"items": 10, "accepted": 10, "rejected": 0, "unknown": 0, "superseded": "2"},
        ],
    )
    def test_missing_or_malformed_counts_are_not_delivered(self, counts: object) -> None:
        file = landing()
        m = manifest("finished", file)
        if counts is None:
            del m.body["counts"]  # type: ignore[attr-defined]
        else:
            m.body["counts"] = counts  # type: ignore[index]
        assert unknown_items(m) is None and not is_delivered(m)
        assert archive_verdict(file, [m], ANCHOR, STALE) == "unknown-fate"
        assert recheck_verdict(m, ANCHOR, STUCK) == "unknown-fate"

    def test_superseded_items_count_as_final(self) -> None:
        file = landing()
        m = manifest("finished", file)
        counts = {"items": 10, "accepted": 7, "rejected": 1, "superseded": 2, "unknown": 0}
        m.body["counts"] = counts  # type: ignore[index]
        assert unknown_items(m) == 0 and is_delivered(m)
        assert archive_verdict(file, [m], ANCHOR, STALE) == "ready"

    def test_a_manifest_with_unknown_items_is_never_marked_archived(self) -> None:
        a = landing("a.csv")
        legacy = manifest("finished", a, unknown=2)
        assert not manifest_fully_archived(legacy, {a.identity: True})

    def test_finished_with_unknown_items_is_rechecked_at_once_and_submitted_after_the_threshold(self) -> None:
        assert recheck_verdict(manifest("finished", landing(), unknown=1, updated_ago=minutes(1)), ANCHOR, STUCK) == (
            "unknown-fate"
        )
        assert recheck_verdict(manifest("finished", landing()), ANCHOR, STUCK) == "none"
        assert recheck_verdict(manifest("archived", landing(), unknown=1), ANCHOR, STUCK) == "none"
        assert recheck_verdict(manifest("submitted", landing(), submitted=ANCHOR - STUCK), ANCHOR, STUCK) == "stuck"
        recent = manifest("submitted", landing(), submitted=ANCHOR - minutes(29))
        assert recheck_verdict(recent, ANCHOR, STUCK) == "submitted-recently"


class TestUnknownFateHealth:
    """Health counts items of unknown fate in manifests sent longer ago than a limit (issue item 2)."""

    LIMIT = minutes(120)

    def test_items_of_unknown_fate_are_counted_once_past_the_limit(self) -> None:
        f = landing()
        old_submitted = manifest("submitted", f, submitted=ANCHOR - self.LIMIT)  # 10 items, all unknown
        young_submitted = manifest("submitted", f, submitted=ANCHOR - self.LIMIT + timedelta(seconds=1))
        legacy = manifest("finished", f, submitted=ANCHOR - minutes(300), unknown=3)
        archived_legacy = manifest("archived", f, submitted=ANCHOR - minutes(300), unknown=1)
        delivered = manifest("finished", f, submitted=ANCHOR - minutes(300))
        pending = manifest("pending", f, updated_ago=minutes(600))  # sent nothing yet
        abandoned = manifest("abandoned", f, updated_ago=minutes(600))
        manifests = [old_submitted, young_submitted, legacy, archived_legacy, delivered, pending, abandoned]
        found = {m.key: n for m, n in unknown_fate(manifests, ANCHOR, self.LIMIT)}
        assert found == {old_submitted.key: 10, legacy.key: 3, archived_legacy.key: 1}

    def test_a_submitted_manifest_without_submitted_at_is_aged_by_its_creation(self) -> None:
        m = manifest("submitted", landing(), created=ANCHOR - minutes(121), updated_ago=minutes(1))
        m.body["submittedAt"] = None  # type: ignore[index]
        assert [n for _, n in unknown_fate([m], ANCHOR, self.LIMIT)] == [10]

    def test_the_breach_names_the_manifests_most_items_first(self) -> None:
        f = landing()
        a = manifest("finished", f, submitted=ANCHOR - minutes(300), unknown=1)
        b = manifest("submitted", f, submitted=ANCHOR - minutes(300))
        breaches = health_breaches(
            dlq_messages=0,
            oldest_message_age=None,
            rows_rejected_hour=0,
            items_rejected_hour=0,
            max_dlq_messages=0,
            max_oldest_message=None,
            max_rows_rejected_per_hour=-1,
            max_items_rejected_per_hour=-1,
            unknown_fate=unknown_fate([a, b], ANCHOR, self.LIMIT),
            unknown_fate_after=self.LIMIT,
            max_items_unknown_fate=0,
        )
        assert [x.describe() for x in breaches] == [
            "items of unknown fate sent 120+ minutes ago is 11 items, above catalog_sync_max_items_unknown_fate=0 "
            f"by 11 items: {b.key} (submitted, 10), {a.key} (finished, 1)"
        ]
        assert breaches[0].as_dict()["subjects"] == [f"{b.key} (submitted, 10)", f"{a.key} (finished, 1)"]

    def test_many_names_are_cut_with_a_count(self) -> None:
        assert named([f"k{i}" for i in range(23)]) == ", ".join(f"k{i}" for i in range(20)) + " and 3 more"
        assert named(["a", "b"]) == "a, b"


class TestLandingKeysAndMetrics:
    @pytest.mark.parametrize(
        ("key", "kind"),
        [
            ("landing/a.csv", "csv"),
            ("landing/a.CSV", "csv"),
            ("landing/a.Csv", "csv"),
            ("landing/2026/11/a.cSv", "csv"),
            ("landing/notes.txt", "unsupported"),
            ("landing/data.csv.gz", "unsupported"),
            ("landing/csv", "unsupported"),
            ("landing/sub/", "folder"),
            ("landing/", "folder"),
        ],
    )
    def test_csv_files_are_recognised_in_any_letter_case(self, key: str, kind: str) -> None:
        assert landing_kind(key, ".csv") == kind

    def test_unfinished_manifests_past_the_stuck_limit(self) -> None:
        f, g, h = landing("f.csv"), landing("g.csv"), landing("h.csv")
        stuck = manifest("submitted", f, submitted=ANCHOR - STUCK)
        recent = manifest("submitted", f, submitted=ANCHOR - STUCK + timedelta(seconds=1))
        legacy = manifest("finished", f, submitted=ANCHOR - STUCK, unknown=1)
        legacy_recent = manifest("finished", f, submitted=ANCHOR - minutes(5), unknown=1)
        delivered = manifest("finished", f, submitted=ANCHOR - minutes(300))
        idle_pending = manifest("pending", g, updated_ago=STUCK)
        busy_pending = manifest("pending", g, updated_ago=minutes(29))
        taken_over = manifest("pending", h, updated_ago=STALE)  # a finished manifest took h over
        h_finished = manifest("finished", h)
        legacy_archived = manifest("archived", f, unknown=2)
        every = [stuck, recent, legacy, legacy_recent, delivered, idle_pending, busy_pending, taken_over, h_finished]
        every.append(legacy_archived)
        found = unfinished_manifests(every, coverage_index(every), ANCHOR, STUCK, STALE)
        assert {m.key for m in found} == {stuck.key, legacy.key, idle_pending.key}

    def test_oldest_undelivered_file_age(self) -> None:
        delivered, waiting, uncovered, legacy = (
            landing("d.csv", age=minutes(300)),
            landing("w.csv", age=minutes(50)),
            landing("u.csv", age=minutes(70)),
            landing("l.csv", age=minutes(20)),
        )
        manifests = [
            manifest("finished", delivered),
            manifest("submitted", waiting),
            manifest("finished", legacy, unknown=1),
        ]
        index = coverage_index(manifests)
        files = [delivered, waiting, uncovered, legacy]
        assert oldest_undelivered_age(files, index, ANCHOR, STALE) == minutes(70)
        assert oldest_undelivered_age([delivered], index, ANCHOR, STALE) == timedelta(0)
        future = landing("future.csv", age=-minutes(5))  # written after the anchor (a re-run of an old slot)
        assert oldest_undelivered_age([future], {}, ANCHOR, STALE) == timedelta(0)
        values = sweep_metrics(
            oldest_undelivered=minutes(70), manifests_unfinished=2, items_unknown_fate=3, unsupported_files=1
        )
        assert values == {
            "OldestUndeliveredFileAgeSeconds": 4200.0,
            "ManifestsUnfinished": 2.0,
            "ItemsUnknownFate": 3.0,
            "UnsupportedLandingFiles": 1.0,
        }
        assert set(values) == set(METRIC_UNITS)


def test_summary_warns_about_unsupported_files_unknown_fate_and_metrics_without_failing() -> None:
    health = {
        "breaches": [],
        "landingPrefix": "landing/",
        "unsupportedLandingFiles": 2,
        "unsupportedLandingKeys": ["landing/data.csv.gz", "landing/notes.txt"],
        "finishedWithUnknownItems": 21,
        "finishedWithUnknownKeys": [f"synced/manifests/x/m{i}.json" for i in range(20)],
        "metricsError": "ClientError: denied",
    }
    reports = {"stragglers": {}, "stuck": {}, "archive": {}, "health": health}
    summary, problems = summarize(reports)
    assert problems == []
    assert summary["warnings"] == [
        "unsupported files in landing/ (not CSV: not sent, not archived): 2: landing/data.csv.gz, landing/notes.txt",
        "finished manifests with items of unknown fate (their files stay in landing/, re-checked): 21: "
        + ", ".join(f"synced/manifests/x/m{i}.json" for i in range(20))
        + " and 1 more",
        "metrics not published: ClientError: denied",
    ]
