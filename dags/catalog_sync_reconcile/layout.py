"""S3 keys, built from ``schemas/storage-layout.json``: the layout the TypeScript worker follows too.

The JSON file beside this module is a git symlink to ``schemas/`` at the repo root, like the JSON Schemas
(``contract``); the deploy's ``aws s3 sync --follow-symlinks`` uploads what it points to. A pattern is a key
with ``{placeholders}``; ``key`` fills one in, and refuses a name or a placeholder the layout does not have.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

LAYOUT_FILE = Path(__file__).resolve().parent / "storage-layout.json"


class LayoutError(KeyError):
    """A key or a placeholder that schemas/storage-layout.json does not define."""


@functools.cache
def _layout() -> dict[str, Any]:
    layout: dict[str, Any] = json.loads(LAYOUT_FILE.read_text(encoding="utf-8"))
    return layout


def _fill(pattern: str, values: dict[str, str]) -> str:
    try:
        return pattern.format(**values)
    except KeyError as missing:
        raise LayoutError(f"pattern {pattern!r} needs {missing}") from None


def key(name: str, **values: str) -> str:
    """The key ``name`` of the layout (``keys``), e.g. ``key("manifest", syncedPrefix=..., hour=..., ...)``."""
    entry = _layout()["keys"].get(name)
    if entry is None:
        raise LayoutError(f"no key {name!r} in {LAYOUT_FILE.name}")
    return _fill(entry["pattern"], values)


def folder(name: str, **values: str) -> str:
    """The listing prefix ``name`` of the layout (``folders``), e.g. ``folder("manifests", syncedPrefix=...)``."""
    entry = _layout()["folders"].get(name)
    if entry is None:
        raise LayoutError(f"no folder {name!r} in {LAYOUT_FILE.name}")
    return _fill(entry["pattern"], values)
