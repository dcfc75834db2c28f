"""The DAG builds its S3 keys from schemas/storage-layout.json, the file the TypeScript worker's key
functions are tested against (test/contract/layout.test.ts): same patterns, one file."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from catalog_sync_reconcile import layout
from catalog_sync_reconcile.model import LandingFile, Manifest
from catalog_sync_reconcile.settings import load_settings
from catalog_sync_reconcile.storage import Storage

LAYOUT = layout._layout()


def _regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", pattern)
    placeholders = LAYOUT["placeholders"]
    out = "".join(
        f"(?:{placeholders[p[1:-1]]['match']})" if re.fullmatch(r"\{\w+\}", p) else re.escape(p) for p in parts
    )
    return re.compile(f"^{out}$")


def _storage(**variables: str) -> Storage:
    values = {"landing_bucket": "l", "synced_bucket": "s", "queue_url": "q", "dlq_url": "d", **variables}
    settings = load_settings(lambda name, default: values.get(name.removeprefix("catalog_sync_"), default))
    return Storage(settings, clients=None)  # type: ignore[arg-type]  # keys need no client


OTHER_PREFIXES = {"landing_prefix": "in/acme/", "archive_prefix": "done/", "synced_prefix": "x/y/"}


@pytest.mark.parametrize("prefixes", [{}, OTHER_PREFIXES])
def test_the_dag_keys_match_the_layout_patterns(prefixes: dict[str, str]) -> None:
    storage = _storage(**prefixes)
    s = storage.settings
    at = datetime(2026, 11, 25, 17, tzinfo=timezone.utc)
    file = LandingFile(bucket="l", key=f"{s.landing_prefix}2026/a b.csv", etag="e", size=1, last_modified=at)
    manifest_key = f"{s.manifests_prefix}2026-11-25T17/2026-11-25T17-abc-01.json"
    manifest = Manifest(key=manifest_key, etag="e", last_modified=at, body={})
    built = {
        "archivedFile": storage.archive_key(file.key),
        "stragglerMarker": storage.straggler_marker_key(file),
        "recheckMarker": storage.recheck_marker_key(manifest),
        "driftCheckMarker": storage.drift_marker_key(),
    }
    for name, key in built.items():
        assert _regex(LAYOUT["keys"][name]["pattern"]).match(key), (name, key)
    assert storage.archive_key(file.key) == f"{s.archive_prefix}2026/a b.csv"
    recheck = f"{s.synced_prefix}sweep/recheck/2026-11-25T17/2026-11-25T17-abc-01.json"
    assert storage.recheck_marker_key(manifest) == recheck
    assert s.manifests_prefix == f"{s.synced_prefix}manifests/"


def test_an_unknown_key_or_placeholder_is_refused() -> None:
    with pytest.raises(layout.LayoutError):
        layout.key("nothing")
    with pytest.raises(layout.LayoutError):
        layout.key("manifest", syncedPrefix="synced/")
