"""The contract with the TypeScript worker: manifest and sweep-message JSON Schemas, and message builders.

The schema files beside this module are git symlinks to ``schemas/`` at the repo root, the very files
the worker validates with ajv; MWAA's S3 sync copies what they point to. Both directions are checked:
a manifest is validated when read and again before the DAG writes it back, and every message is
validated before it is sent, so a schema change that the DAG does not follow fails loudly here.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker

HERE = Path(__file__).resolve().parent
MANIFEST_SCHEMA = HERE / "manifest.schema.json"
SWEEP_MESSAGE_SCHEMA = HERE / "sweep-message.schema.json"

STRAGGLER_KIND = "catalog-sync.straggler"
RECHECK_KIND = "catalog-sync.status-recheck"
DRIFT_CHECK_KIND = "catalog-sync.drift-check"

# RFC 3339 date-time, as ajv-formats checks it on the worker's side. Checked here rather than through
# jsonschema's optional rfc3339-validator extra, so validation does not depend on what an image installs.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # format applies to strings only
    if not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))  # raises on 2026-13-40
    return True


class ContractError(ValueError):
    """A document does not follow its JSON Schema; the message lists every violation."""


@functools.cache
def _validator(path: Path) -> Draft7Validator:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=_FORMATS)


def _check(path: Path, what: str, document: Any) -> None:
    errors = sorted(_validator(path).iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        detail = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors)
        raise ContractError(f"{what} does not follow {path.name}: {detail}")


def validate_manifest(document: Any, where: str = "manifest") -> None:
    """Raises ``ContractError`` unless ``document`` follows ``schemas/manifest.schema.json``."""
    _check(MANIFEST_SCHEMA, where, document)


def validate_message(document: Any) -> None:
    """Raises ``ContractError`` unless ``document`` follows ``schemas/sweep-message.schema.json``."""
    kind = document.get("kind") if isinstance(document, dict) else None
    _check(SWEEP_MESSAGE_SCHEMA, f"message {kind}", document)


def iso(moment: datetime) -> str:
    """UTC, millisecond precision, ``Z`` suffix: the form the worker writes (JavaScript's toISOString)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def straggler_message(bucket: str, key: str, etag: str, reason: str, sent_at: datetime) -> dict[str, Any]:
    """Asks the worker to process a landing file as if its S3 event had just arrived."""
    message = {
        "kind": STRAGGLER_KIND,
        "version": 1,
        "bucket": bucket,
        "key": key,
        "etag": etag,
        "reason": reason,
        "sentAt": iso(sent_at),
    }
    validate_message(message)
    return message


def recheck_message(manifest_key: str, sent_at: datetime) -> dict[str, Any]:
    """Asks the worker to poll a stuck manifest's batch handles again."""
    message = {"kind": RECHECK_KIND, "version": 1, "manifestKey": manifest_key, "sentAt": iso(sent_at)}
    validate_message(message)
    return message


def drift_check_message(sent_at: datetime, dry_run: bool = False) -> dict[str, Any]:
    """Asks the worker to read the catalog back from Meta and repair drift (the worker does the Graph calls)."""
    message = {"kind": DRIFT_CHECK_KIND, "version": 1, "dryRun": dry_run, "sentAt": iso(sent_at)}
    validate_message(message)
    return message
