"""Failpoints of the sweep: the variable's syntax, and a sweep interrupted at every point, then re-run.

For each point the sweep runs with the point armed (``raise``; ``kill`` in a child process for
``archive.after-copy``), the state it leaves is checked to be exactly "between the two writes", the
point is disarmed, the same run is retried (same anchor, as Airflow retries a task) and a later run
follows. Then the oracle:

- every landing file is exactly once in landing/ or archive/, with its original bytes;
- a file is in archive/ only if every manifest covering it is delivered (and then it is there);
- manifests end archived exactly where all their files were archived;
- every subject got its message, and none more than the marker rules allow: one per resend period,
  plus one when a run died between sending it and writing its marker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from catalog_sync_reconcile import checks, failpoints, sweep
from catalog_sync_reconcile.contract import RECHECK_KIND, STRAGGLER_KIND
from catalog_sync_reconcile.failpoints import FailpointError, FailpointSpecError, failpoint
from conftest import DAGS_FOLDER
from sweep_helpers import World, manifest_body, minutes, source
from test_sweep_moto import run_at

TASKS = {"stragglers": sweep.stragglers, "stuck": sweep.stuck, "archive": sweep.archive, "health": checks.health}
OWNER = {
    "straggler.after-send": "stragglers",
    "recheck.after-send": "stuck",
    "archive.after-copy": "archive",
    "archive.after-delete": "archive",
}


@pytest.fixture(autouse=True)
def _disarmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(failpoints.ENV, raising=False)
    failpoints.reset()


# ------------------------------------------------------------------------------------------------ syntax
def test_every_point_of_the_brief_exists() -> None:
    assert set(OWNER) <= set(failpoints.POINTS)


def test_unset_or_empty_is_inert(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in failpoints.POINTS:
        failpoint(name)
    monkeypatch.setenv(failpoints.ENV, "")
    failpoint("archive.after-copy")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("archive.after-cpy=raise", "unknown failpoint 'archive.after-cpy'; known: straggler.after-send, "),
        ("archive.after-copy=explode", "is not name=raise|kill\\[@N\\]; known: .*archive.after-copy"),
        ("archive.after-copy=raise@0", "is not name=raise|kill"),
        ("archive.after-copy", "is not name=raise|kill"),
    ],
)
def test_a_wrong_spec_is_an_error_naming_the_known_points(
    spec: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(failpoints.ENV, spec)
    with pytest.raises(FailpointSpecError, match=message):
        failpoint("archive.after-copy")
    names = {f"catalog_sync_{n}" for n in ("landing_bucket", "synced_bucket", "queue_url", "dlq_url")}
    with pytest.raises(FailpointSpecError, match=message):  # a run fails before it reads or sends anything
        sweep.open_run(datetime.now(timezone.utc), lambda name, default: "x" if name in names else default)


def test_raise_fires_on_every_hit_or_only_on_the_nth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(failpoints.ENV, " archive.after-copy=raise@2 , recheck.after-send=raise")
    failpoint("archive.after-copy")
    with pytest.raises(FailpointError, match="failpoint archive.after-copy fired"):
        failpoint("archive.after-copy")
    failpoint("archive.after-copy")  # the third hit passes
    failpoint("archive.after-delete")  # not armed
    for _ in range(2):
        with pytest.raises(FailpointError):
            failpoint("recheck.after-send")
    with pytest.raises(FailpointSpecError, match="not declared"):
        failpoint("no.such-point")


# ---------------------------------------------------------------------------------------------- recovery
class Scenario:
    """Delivered files (one in two-file manifest, one upper-case), a legacy finished manifest with items of
    unknown fate, a stuck submitted one, two files without manifests."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        w = self.world = World(stack)
        names = ["D3.CSV", "d1.csv", "d2.csv", "u1.csv", "s1.csv", "n1.csv", "n2.csv"]
        f = self.files = {name: w.put_landing(name) for name in names}
        self.anchor = datetime.now(timezone.utc) + timedelta(hours=1)
        at = self.anchor - minutes(20)
        self.m = {
            "D3": w.put_manifest(manifest_body("finished", [source(f["D3.CSV"])], at=at)),
            "d12": w.put_manifest(manifest_body("finished", [source(f["d1.csv"]), source(f["d2.csv"])], at=at)),
            "u1": w.put_manifest(
                manifest_body("finished", [source(f["u1.csv"])], at=at, submitted=self.anchor - minutes(180), unknown=2)
            ),
            "s1": w.put_manifest(manifest_body("submitted", [source(f["s1.csv"])], at=self.anchor - minutes(45))),
        }
        self.sources = {"D3": ["D3.CSV"], "d12": ["d1.csv", "d2.csv"], "u1": ["u1.csv"], "s1": ["s1.csv"]}
        self.delivered_manifests = {"D3", "d12"}
        self.delivered_files = {"D3.CSV", "d1.csv", "d2.csv"}
        self.original = {name: w.body(f"landing/{name}") for name in names}
        self.straggler_subjects = {"landing/n1.csv", "landing/n2.csv"}
        self.recheck_subjects = {self.m["u1"], self.m["s1"]}
        w.drain()
        self.messages: list[dict[str, Any]] = []

    def sweep(self, anchor: datetime) -> dict[str, Any]:
        """Every task of one run, as the DAG runs them (independently): a report or the exception."""
        run = run_at(self.stack, anchor)
        outcomes: dict[str, Any] = {}
        for name, task in TASKS.items():
            try:
                outcomes[name] = task(run)
            except FailpointError as error:
                outcomes[name] = error
        self.messages += self.world.sweep_messages()
        return outcomes

    def markers(self) -> set[str]:
        return self.world._keys(self.stack.synced_bucket, "synced/sweep/")

    def marked_subjects(self) -> set[str]:
        """The subjects the sweep's markers remember as sent."""
        found = set()
        for key in self.markers():
            body = json.loads(self.stack.s3.get_object(Bucket=self.stack.synced_bucket, Key=key)["Body"].read())
            found.add(_subject(body["message"]))
        return found

    def unmarked_subjects(self) -> Counter[str]:
        """Subjects sent so far whose marker is missing: a run died between the send and the marker."""
        marked = self.marked_subjects()
        return Counter({subject for subject in map(_subject, self.messages) if subject not in marked})

    def check_oracle(self, interrupted: Counter[str]) -> None:
        w = self.world
        for name, original in self.original.items():
            in_landing, in_archive = w.body(f"landing/{name}"), w.body(f"archive/{name}")
            where = f"{name}: landing {in_landing!r}, archive {in_archive!r}"
            assert (in_landing is None) != (in_archive is None), where
            assert (in_landing or in_archive) == original, name
        archived = {name for name in self.original if w.body(f"archive/{name}") is not None}
        assert archived == self.delivered_files  # only delivered files, and all of them after the re-run
        for label, key in self.m.items():
            state = w.manifest(key)["state"]
            all_archived = all(name in archived for name in self.sources[label])
            assert (state == "archived") == all_archived, (label, state)
            assert state == {"u1": "finished", "s1": "submitted"}.get(label, "archived"), (label, state)
        sent = Counter(map(_subject, self.messages))
        assert set(sent) == self.straggler_subjects | self.recheck_subjects  # none lost, none foreign
        for subject, count in sent.items():
            assert count <= 1 + interrupted[subject], (subject, count, interrupted)
        kinds = Counter(m["kind"] for m in self.messages)
        assert kinds[STRAGGLER_KIND] + kinds[RECHECK_KIND] == len(self.messages)


def _subject(message: dict[str, Any]) -> str:
    return str(message.get("key") or message.get("manifestKey"))


def _check_stopped_between_the_writes(sc: Scenario, point: str) -> None:
    """The state the armed run left is exactly "after the first write, before the second"."""
    w, first = sc.world, "D3.CSV"  # the first delivered file in key order
    if point == "archive.after-copy":
        assert w.body(f"landing/{first}") == w.body(f"archive/{first}") == sc.original[first]
        assert w.archive_keys() == {f"archive/{first}"}
    elif point == "archive.after-delete":
        assert w.body(f"landing/{first}") is None and w.body(f"archive/{first}") == sc.original[first]
        assert w.manifest(sc.m["D3"])["state"] == "finished"
    else:
        kind, folder = {
            "straggler.after-send": (STRAGGLER_KIND, "synced/sweep/straggler/"),
            "recheck.after-send": (RECHECK_KIND, "synced/sweep/recheck/"),
        }[point]
        assert len([m for m in sc.messages if m["kind"] == kind]) == 1  # the first message went out...
        assert not [k for k in sc.markers() if k.startswith(folder)]  # ...and its marker was never written


@pytest.mark.parametrize("point", sorted(OWNER))
def test_a_sweep_that_fails_at_a_point_is_repaired_by_the_next_run(
    point: str, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sc = Scenario(stack)
    monkeypatch.setenv(failpoints.ENV, f"{point}=raise")
    outcomes = sc.sweep(sc.anchor)
    failed = {name: out for name, out in outcomes.items() if isinstance(out, Exception)}
    assert list(failed) == [OWNER[point]] and failed[OWNER[point]].point == point
    _check_stopped_between_the_writes(sc, point)
    interrupted = sc.unmarked_subjects()
    assert sum(interrupted.values()) == (1 if point.endswith("after-send") else 0)

    monkeypatch.delenv(failpoints.ENV)
    retried = sc.sweep(sc.anchor)  # Airflow's retry of the failed task: the same anchor
    assert not [out for out in retried.values() if isinstance(out, Exception)]
    before = sc.world.snapshot()
    later = sc.sweep(sc.anchor + minutes(1))  # the next run: nothing left to do
    assert sc.world.snapshot() == before and later["archive"]["moved"] == 0

    sc.check_oracle(interrupted)
    assert sc.marked_subjects() == sc.straggler_subjects | sc.recheck_subjects  # every send is remembered now


_CHILD = textwrap.dedent(
    """
    import json, sys
    from datetime import datetime
    sys.path.insert(0, sys.argv[1])
    from catalog_sync_reconcile import checks, sweep
    values, anchor = json.loads(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
    run = sweep.open_run(anchor, lambda name, default: values.get(name, default))
    for task in (sweep.stragglers, sweep.stuck, sweep.archive, checks.health):
        report = task(run)
        print(task.__name__, json.dumps(report), flush=True)
    """
)


def test_a_sweep_killed_between_copy_and_delete_is_repaired_by_the_next_run(stack: Any) -> None:
    sc = Scenario(stack)
    env = {**os.environ, failpoints.ENV: "archive.after-copy=kill"}
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(DAGS_FOLDER), json.dumps(stack.variables()), sc.anchor.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-3000:]
    assert "failpoint archive.after-copy hit 1" in child.stderr
    done = [line.split(" ", 1)[0] for line in child.stdout.splitlines() if line.split(" ", 1)[0] in TASKS]
    assert done == ["stragglers", "stuck"]  # died inside archive; health never ran
    sc.messages += sc.world.sweep_messages()
    _check_stopped_between_the_writes(sc, "archive.after-copy")
    interrupted = sc.unmarked_subjects()
    assert not interrupted

    retried = sc.sweep(sc.anchor)  # the clean re-run
    assert not [out for out in retried.values() if isinstance(out, Exception)]
    assert retried["archive"]["moved"] == 3 and retried["stragglers"]["sent"] == 0 and retried["stuck"]["sent"] == 0
    sc.sweep(sc.anchor + minutes(1))
    sc.check_oracle(interrupted)
