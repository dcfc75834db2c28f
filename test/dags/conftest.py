"""Fixtures of the DAG tests: real Airflow 3 (SQLite), moto in server mode, the project's infra template.

Airflow reads its configuration when first imported, so the environment is set at the top of this
file, before any test module imports airflow. Reusable by the end-to-end tests (worker + DAG):

- ``moto_endpoint`` (session): a moto server on a free 127.0.0.1 port; AWS_ENDPOINT_URL and
  AIRFLOW_CONN_AWS_DEFAULT point at it.
- ``stack``: a fresh stage of ``infra/storage.yml`` deployed on it (``deploy_stack``), with boto3 clients.
- ``airflow_db`` (session): ``airflow db migrate`` once, for ``dag.test()``.
- ``dag_variables``: the stack's names as ``AIRFLOW_VAR_CATALOG_SYNC_*`` for a DAG run.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = ROOT / "dags"
VENV_BIN = ROOT / ".venv" / "bin"
REGION = "us-east-1"

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="catalog-sync-airflow-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, True)
os.environ.update(
    AIRFLOW_HOME=_AIRFLOW_HOME,
    AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_FOLDER),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{_AIRFLOW_HOME}/airflow.db",  # absolute path: 4 slashes
    AWS_DEFAULT_REGION=REGION,
    AWS_REGION=REGION,
    AWS_ACCESS_KEY_ID="local",
    AWS_SECRET_ACCESS_KEY="local",
)
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
    os.environ.pop(_name, None)
# Airflow puts the dags folder on sys.path for DAG files and tasks; the tests import the helpers the same way.
if str(DAGS_FOLDER) not in sys.path:
    sys.path.insert(0, str(DAGS_FOLDER))


def wait_until(what: str, probe: Any, timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Polls ``probe()`` until it returns something truthy or the deadline passes (the one way to wait)."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except Exception as error:  # noqa: BLE001 - reported if the deadline passes
            last_error = error
        time.sleep(interval)
    why = f" (last error: {last_error})" if last_error else ""
    raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}{why}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server for the whole session; every AWS client of the tests and the DAG points at it."""
    binary = VENV_BIN / "moto_server"
    if not binary.exists():
        binary = Path(shutil.which("moto_server") or binary)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log_path = Path(_AIRFLOW_HOME) / "moto.log"
    with open(log_path, "wb") as log_file:
        cmd = [str(binary), "-H", "127.0.0.1", "-p", str(port)]
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=log_file)

    def answering() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2) as response:
            return response.status == 200

    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AIRFLOW_CONN_AWS_DEFAULT")}
    try:
        wait_until(f"moto server on {endpoint}", answering)
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(
            {
                "conn_type": "aws",
                "login": "local",
                "password": "local",
                "extra": {"region_name": REGION, "endpoint_url": endpoint},
            }
        )
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _node() -> str:
    bundled = ROOT / ".tooling" / "node" / "bin" / "node"
    return str(bundled) if bundled.exists() else (shutil.which("node") or "node")


@functools.cache
def _cli_has_infra_deploy() -> bool:
    """True once the lead's ``catalog-sync infra deploy`` exists; until then the provisioning module is called."""
    try:
        out = subprocess.run(
            [str(ROOT / "bin" / "catalog-sync"), "infra", "deploy", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError:
        return False
    return out.returncode == 0 and "--endpoint" in out.stdout


_DEPLOY_SCRIPT = """
import { deployTemplate, localClients } from %s;
const [endpoint, ...stages] = process.argv.slice(1);
const clients = localClients(endpoint);
const results = await Promise.all(
  stages.map((stage) =>
    deployTemplate({ clients, stackName: `catalog-sync-${stage}`, parameters: { Stage: stage } }),
  ),
);
process.stdout.write(JSON.stringify(Object.fromEntries(stages.map((s, i) => [s, results[i].outputs]))));
"""


def _outputs(printed: str) -> dict[str, str]:
    result = json.loads(printed)
    return dict(result.get("outputs", result))


def deploy_stacks(endpoint: str, stages: list[str]) -> dict[str, dict[str, str]]:
    """Deploys ``infra/storage.yml`` as stacks ``catalog-sync-<stage>`` on ``endpoint``, concurrently.

    Uses ``bin/catalog-sync infra deploy --endpoint URL --stage NAME --json`` when the CLI has it,
    otherwise the same provisioning code (``tools/local-aws/provision.ts``) through Node: both create the
    buckets and queues from the template, never by hand. Returns each stage's stack outputs.
    """
    if _cli_has_infra_deploy():
        cli = str(ROOT / "bin" / "catalog-sync")
        procs = {
            stage: subprocess.Popen(
                [cli, "infra", "deploy", "--endpoint", endpoint, "--stage", stage, "--json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            for stage in stages
        }
        results = {}
        for stage, proc in procs.items():
            out, err = proc.communicate(timeout=120)
            if proc.returncode != 0:
                raise RuntimeError(
                    f"catalog-sync infra deploy --stage {stage} failed ({proc.returncode}): {err[-3000:]}"
                )
            results[stage] = _outputs(out)
        return results
    module = json.dumps((ROOT / "tools" / "local-aws" / "provision.ts").as_uri())
    script = _DEPLOY_SCRIPT % module
    cmd = [_node(), "--disable-warning=ExperimentalWarning", "--input-type=module", "-e", script, endpoint, *stages]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"deploying stages {stages} failed ({done.returncode}): {done.stderr[-3000:]}")
    return {stage: dict(outputs) for stage, outputs in json.loads(done.stdout).items()}


def deploy_stack(endpoint: str, stage: str) -> dict[str, str]:
    """One stage of ``deploy_stacks``: the outputs (LandingBucketName, SyncedBucketName, QueueUrl, ...)."""
    return deploy_stacks(endpoint, [stage])[stage]


class Stack:
    """One deployed stage: endpoint, outputs and boto3 clients on the moto server."""

    def __init__(self, endpoint: str, stage: str, outputs: dict[str, str]) -> None:
        import boto3

        self.endpoint = endpoint
        self.stage = stage
        self.stack_name = f"catalog-sync-{stage}"
        self.outputs = outputs
        self.landing_bucket = outputs["LandingBucketName"]
        self.synced_bucket = outputs["SyncedBucketName"]
        self.queue_url = outputs["QueueUrl"]
        self.dlq_url = outputs["DeadLetterQueueUrl"]
        self.queue_name = outputs.get("QueueName") or self.queue_url.rsplit("/", 1)[-1]
        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION
        )
        self.s3 = session.client("s3", endpoint_url=endpoint)
        self.sqs = session.client("sqs", endpoint_url=endpoint)
        self.cloudwatch = session.client("cloudwatch", endpoint_url=endpoint)

    def variables(self, **overrides: Any) -> dict[str, str]:
        """The DAG's Variables (full names) for this stage, plus overrides given without the prefix."""
        values = {
            "catalog_sync_landing_bucket": self.landing_bucket,
            "catalog_sync_synced_bucket": self.synced_bucket,
            "catalog_sync_queue_url": self.queue_url,
            "catalog_sync_dlq_url": self.dlq_url,
            "catalog_sync_stack_name": self.stack_name,
        }
        values.update({f"catalog_sync_{k}": str(v) for k, v in overrides.items()})
        return values


_STACK_USERS = {"remaining": 0}


def pytest_collection_finish(session: pytest.Session) -> None:
    """Counts the tests that will take a stack, so the pool deploys no more than they need."""
    _STACK_USERS["remaining"] = sum(1 for item in session.items if "stack" in getattr(item, "fixturenames", ()))


class StackPool:
    """Hands out freshly deployed stages, deployed in concurrent batches (one costs ~2 s, eight ~5 s)."""

    BATCH = 8

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.ready: list[Stack] = []

    def take(self) -> Stack:
        if not self.ready:
            count = max(1, min(self.BATCH, _STACK_USERS["remaining"]))
            stages = [f"t{secrets.token_hex(4)}" for _ in range(count)]
            deployed = deploy_stacks(self.endpoint, stages)
            self.ready = [Stack(self.endpoint, stage, deployed[stage]) for stage in stages]
        _STACK_USERS["remaining"] -= 1
        return self.ready.pop()


@pytest.fixture(scope="session")
def stack_pool(moto_endpoint: str) -> StackPool:
    return StackPool(moto_endpoint)


@pytest.fixture
def stack(stack_pool: StackPool) -> Stack:
    """A fresh stage of the infra template per test, so tests never see each other's objects or messages."""
    return stack_pool.take()


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """Migrates the session's SQLite metadata DB once (``dag.test()`` needs it)."""
    airflow = VENV_BIN / "airflow"
    cmd = [str(airflow)] if airflow.exists() else [sys.executable, "-m", "airflow"]
    done = subprocess.run([*cmd, "db", "migrate"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


@pytest.fixture
def dag_variables(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Sets the stack's Variables as AIRFLOW_VAR_* (how Airflow reads Variables from the environment)."""

    def apply(**overrides: Any) -> dict[str, str]:
        values = stack.variables(**overrides)
        for name, value in values.items():
            monkeypatch.setenv(f"AIRFLOW_VAR_{name.upper()}", value)
        return values

    return apply
