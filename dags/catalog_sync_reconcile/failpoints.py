"""Named failpoints of the sweep: places where a test makes the task die or fail on purpose.

A test puts the sweep exactly between two of its writes (say, after the copy to archive/ and before the
delete from landing/) instead of "some time after a log line", then checks that the next run repairs
what the interrupted one left. The TypeScript worker has the same mechanism (``src/failpoints.ts``).

Armed only through the environment variable ``CATALOG_SYNC_FAILPOINTS``; unset or empty, every
``failpoint()`` call is one dictionary lookup (``os.environ``) that finds nothing. Syntax::

    name=action[,name=action...]    action: raise | kill, optionally @N

- ``raise``: raise ``FailpointError`` (a transient fault: the task fails and Airflow retries it);
- ``kill``: ``SIGKILL`` this process (a crashed or OOM-killed worker: no ``finally``, no callback);
- ``@N``: only on the N-th time this process reaches the point (1-based); without it, every time.

An unknown name or a malformed entry is an error that lists the known points: a typo must not make a
test pass because nothing fired. Every point reached while armed is logged to stderr as
``failpoint <name> hit <n>``, so a test can see that the point it armed was in fact reached.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import signal
import sys
from typing import Literal

ENV = "CATALOG_SYNC_FAILPOINTS"

#: Every point, in the order a run reaches them. A point is a place between two writes.
POINTS: dict[str, str] = {
    "straggler.after-send": "straggler message sent, its marker not yet written",
    "recheck.after-send": "status re-check message sent, its marker not yet written",
    "archive.after-copy": "landing file copied to archive/ and verified, not yet deleted from landing/",
    "archive.after-delete": "landing file deleted, its manifests not yet marked archived",
}

_ENTRY = re.compile(r"^([a-z0-9.-]+)=(raise|kill)(?:@([1-9][0-9]*))?$")


class FailpointError(RuntimeError):
    """Raised by a point armed with ``raise``."""

    def __init__(self, point: str) -> None:
        super().__init__(f"failpoint {point} fired")
        self.point = point


class FailpointSpecError(ValueError):
    """``CATALOG_SYNC_FAILPOINTS`` names an unknown point or is malformed."""


@dataclasses.dataclass(frozen=True)
class Action:
    kind: Literal["raise", "kill"]
    nth: int | None


@functools.lru_cache(maxsize=8)
def parse(spec: str) -> dict[str, Action]:
    """``name=raise|kill[@N],...`` -> {name: Action}; raises ``FailpointSpecError`` naming the known points."""
    armed: dict[str, Action] = {}
    for part in spec.split(","):
        entry = part.strip()
        if not entry:
            continue
        match = _ENTRY.match(entry)
        if not match:
            raise FailpointSpecError(f"{ENV}: {entry!r} is not name=raise|kill[@N]; known: {', '.join(POINTS)}")
        name, kind, nth = match.groups()
        if name not in POINTS:
            raise FailpointSpecError(f"{ENV}: unknown failpoint {name!r}; known: {', '.join(POINTS)}")
        armed[name] = Action(kind, int(nth) if nth else None)  # type: ignore[arg-type]
    return armed


_hits: dict[tuple[str, str], int] = {}


def reset() -> None:
    """Forgets the hit counts (tests that arm the same ``@N`` twice in one process)."""
    _hits.clear()


def check() -> None:
    """Fails early (at the start of a task) when the variable is set but wrong."""
    spec = os.environ.get(ENV)
    if spec:
        parse(spec)


def failpoint(name: str) -> None:
    """Marks a point of the sweep; does nothing unless ``CATALOG_SYNC_FAILPOINTS`` arms it."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    if name not in POINTS:
        raise FailpointSpecError(f"failpoint({name!r}) is not declared in failpoints.POINTS")
    action = parse(spec).get(name)
    if action is None:
        return
    n = _hits[(spec, name)] = _hits.get((spec, name), 0) + 1  # counted per arming, in this process
    print(f"failpoint {name} hit {n}", file=sys.stderr, flush=True)
    if action.nth is not None and action.nth != n:
        return
    if action.kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise FailpointError(name)
