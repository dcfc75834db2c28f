"""Every decision of the sweep, as pure functions of what was read and of the run's anchor time.

No I/O and no clock here: "now" is always the run's anchor (``sweep_anchor``), so a retried or a manual
run decides exactly as the scheduled one did, and tests can place a run anywhere in time. The vocabulary
(covers, final, delivered, held, ...) and the values decided on are in ``model``; the health checks and
metrics in ``health``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal

from catalog_sync_reconcile.model import (
    ABANDONED,
    DELIVERED_STATES,
    FINAL_STATES,
    FINISHED,
    HELD,
    OWNED_STATES,
    PENDING,
    SENT_STATES,
    SETTLED_STATES,
    SUBMITTED,
    effective_state,
    is_delivered,
    LandingFile,
    Manifest,
    unknown_items,
)



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
