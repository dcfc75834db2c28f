"""The whole system: the real worker (Node, `catalog-sync worker`), the simulator over HTTP, the DAG under
real Airflow 3, all on one moto server deployed from the project's template.

1. Three files are synced by the worker, then the DAG archives them: landing/ ends empty, archive/ holds the
   three files and every manifest says archived.
2. The worker is down while a file's events are lost: the DAG's straggler message makes a restarted worker
   sync it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, free_port, wait_until
from test_dag import _states, _summary_xcom, _test_run

CLI = str(ROOT / "bin" / "catalog-sync")
CATALOG = "424242"
HEADER = "id,title,description,link,image_link,availability,price,brand"


def _csv(rows: list[tuple[str, str]]) -> bytes:
    lines = [HEADER] + [
        f"{pid},Product {pid},About {pid},https://shop.example/p/{pid},https://shop.example/i/{pid}.jpg,"
        f"in stock,{price},Acme"
        for pid, price in rows
    ]
    return ("\n".join(lines) + "\n").encode()


class Simulator:
    """`catalog-sync simulator` as a child process, read through its HTTP product list and call log."""

    def __init__(self, token: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [CLI, "simulator", "--port", str(self.port), "--token", token, "--processing-delay-ms", "300"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_until("the simulator", lambda: self._get("/_admin/calls") is not None, timeout=60)

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:
            return json.load(response)

    def products(self) -> dict[str, dict[str, Any]]:
        body = self._get(f"/v26.0/{CATALOG}/products")
        return {p["retailer_id"]: p for p in body["data"]}  # Graph style: id is the FBID

    def items_batch_calls(self) -> int:
        calls = self._get("/_admin/calls")
        calls = calls.get("data", calls) if isinstance(calls, dict) else calls
        return sum(1 for c in calls if c["endpoint"] == "items_batch")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self._log.close()


class WorkerProcess:
    """`catalog-sync worker` as a child process, configured like production through its environment."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([CLI, "worker"], env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
        self._log.close()
        assert self.proc.returncode == 0, f"worker exited with {self.proc.returncode}"


@pytest.fixture
def system(stack: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    token = f"e2e-{secrets.token_hex(16)}"
    simulator = Simulator(token, tmp_path / "simulator.log")
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": stack.endpoint,
        "LANDING_BUCKET": stack.landing_bucket,
        "SYNCED_BUCKET": stack.synced_bucket,
        "QUEUE_URL": stack.queue_url,
        "DLQ_URL": stack.dlq_url,
        "META_GRAPH_URL": simulator.url,
        "META_CATALOG_ID": CATALOG,
        "META_ACCESS_TOKEN": token,
        "CATALOG_CURRENCY": "USD",
        "DEBOUNCE_QUIET_MS": "700",
        "VISIBILITY_TIMEOUT_S": "20",
        "STATUS_POLL_INITIAL_MS": "200",
        "STATUS_POLL_MAX_MS": "1000",
    }
    workers: list[WorkerProcess] = []

    def start_worker() -> WorkerProcess:
        worker = WorkerProcess(env, tmp_path / "worker.log")
        workers.append(worker)
        return worker

    try:
        yield {"simulator": simulator, "start_worker": start_worker, "token": token, "logs": tmp_path}
    finally:
        for worker in workers:
            worker.stop()
        simulator.stop()


def _manifests(stack: Any) -> list[dict[str, Any]]:
    listed = stack.s3.list_objects_v2(Bucket=stack.synced_bucket, Prefix="synced/manifests/")
    return [
        json.loads(stack.s3.get_object(Bucket=stack.synced_bucket, Key=o["Key"])["Body"].read())
        for o in listed.get("Contents", [])
    ]


def _keys(stack: Any, prefix: str) -> set[str]:
    listed = stack.s3.list_objects_v2(Bucket=stack.landing_bucket, Prefix=prefix)
    return {o["Key"] for o in listed.get("Contents", [])}


def _purge(stack: Any) -> None:
    """Receives and deletes everything on the queue: the events are lost, as in an outage."""
    while True:
        got = stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        if not got.get("Messages"):
            return
        for m in got["Messages"]:
            stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=m["ReceiptHandle"])


def test_three_files_are_synced_by_the_worker_and_archived_by_the_dag(
    stack: Any, system: dict[str, Any], airflow_db: str, dag_variables: Any
) -> None:
    simulator: Simulator = system["simulator"]
    system["start_worker"]()
    files = {
        "landing/2026/11/25/a.csv": _csv([("A1", "1.00"), ("A2", "2.00"), ("SHARED", "3.00")]),
        "landing/2026/11/25/b.csv": _csv([("B1", "4.00"), ("SHARED", "5.00")]),
        "landing/2026/11/25/c.csv": _csv([("C1", "6.00"), ("SHARED", "7.00")]),
    }
    for key, body in files.items():
        stack.s3.put_object(Bucket=stack.landing_bucket, Key=key, Body=body)

    wanted = {"A1", "A2", "B1", "C1", "SHARED"}
    wait_until("the catalog to hold every product", lambda: wanted <= set(simulator.products()), timeout=90)
    wait_until(
        "every manifest to finish",
        lambda: (ms := _manifests(stack)) and all(m["state"] == "finished" for m in ms),
        timeout=90,
    )
    assert simulator.products()["SHARED"]["price"] == "7.00 USD"  # the newest file won

    dag_variables()
    dr = _test_run(datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=1))

    assert dr.state == "success", _states(dr)
    assert _keys(stack, "landing/") == set()
    assert _keys(stack, "archive/") == {k.replace("landing/", "archive/", 1) for k in files}
    assert {m["state"] for m in _manifests(stack)} == {"archived"}
    assert _summary_xcom(dr)["archive"]["moved"] == 3
    # The token reached the worker only through its environment: no manifest or log line carries it.
    for manifest in _manifests(stack):
        assert system["token"] not in json.dumps(manifest)
    assert system["token"] not in (system["logs"] / "worker.log").read_text()


def test_a_file_whose_events_were_lost_is_synced_through_the_dags_straggler_message(
    stack: Any, system: dict[str, Any], airflow_db: str, dag_variables: Any
) -> None:
    simulator: Simulator = system["simulator"]
    key = "landing/2026/11/25/late.csv"
    stack.s3.put_object(Bucket=stack.landing_bucket, Key=key, Body=_csv([("LATE1", "9.00"), ("LATE2", "8.00")]))
    _purge(stack)  # the worker was down and the events are gone
    assert simulator.products() == {}

    dag_variables()
    # An hour later the file is past the grace period and no manifest covers it.
    dr = _test_run(datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=1))
    assert dr.state == "success", _states(dr)
    assert _summary_xcom(dr)["stragglers"]["sent"] == 1

    system["start_worker"]()
    wait_until(
        "the straggler to reach the catalog",
        lambda: {"LATE1", "LATE2"} <= set(simulator.products()),
        timeout=90,
    )
    covering = [m for m in _manifests(stack) if any(s["key"] == key for s in m["sources"])]
    assert covering and covering[0]["counts"]["items"] == 2
