"""The DAG's schedule: hourly (minute 30) by default; ``CATALOG_SYNC_SCHEDULE`` shortens it (the sandbox)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import DAGS_FOLDER

DAG_ID = "catalog_reconciliation"
DAG_FILE = DAGS_FOLDER / "catalog_reconciliation.py"


def _bag() -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.0
        from airflow.models.dagbag import DagBag
    return DagBag(dag_folder=str(DAG_FILE))


def test_hourly_at_minute_30_when_the_variable_is_unset_or_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in (None, "", "  "):
        if value is None:
            monkeypatch.delenv("CATALOG_SYNC_SCHEDULE", raising=False)
        else:
            monkeypatch.setenv("CATALOG_SYNC_SCHEDULE", value)
        bag = _bag()
        assert bag.import_errors == {}
        assert bag.dags[DAG_ID].timetable.expression == "30 * * * *"


def test_catalog_sync_schedule_replaces_the_hourly_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_SYNC_SCHEDULE", "*/2 * * * *")
    bag = _bag()
    assert bag.import_errors == {}
    timetable = bag.dags[DAG_ID].timetable
    assert (timetable.expression, str(timetable.timezone)) == ("*/2 * * * *", "UTC")


def test_a_bad_expression_is_an_import_error_that_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_SYNC_SCHEDULE", "every two minutes")
    bag = _bag()
    assert bag.dags == {}
    (error,) = bag.import_errors.values()
    assert "CATALOG_SYNC_SCHEDULE='every two minutes' is not a cron expression" in str(error)
    assert "unset it for the hourly default '30 * * * *'" in str(error)
