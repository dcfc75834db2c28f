"""The AWS side of the DAG: boto3 clients from the Amazon provider's hooks, the stack outputs that name
the resources, and what S3's error codes mean here.

The hooks take the Airflow connection (``catalog_sync_aws_conn_id``); its extra ``endpoint_url`` (or
botocore's own ``AWS_ENDPOINT_URL``) points them at a local emulator, and on MWAA an empty
``aws_default`` falls back to the execution role. Clients are created on first use, inside a task.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from catalog_sync_reconcile.settings import Settings


def utcnow() -> datetime:
    """Wall-clock time, only for timestamps the DAG writes (sentAt, archivedAt); decisions use the anchor."""
    return datetime.now(timezone.utc)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def http_status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def is_missing(error: ClientError) -> bool:
    return error_code(error) in ("404", "NoSuchKey", "NotFound", "NoSuchVersion")


def is_precondition_failed(error: ClientError) -> bool:
    # 409 ConditionalRequestConflict: a concurrent conditional write won; same meaning for us.
    code = error_code(error)
    return code in ("PreconditionFailed", "ConditionalRequestConflict") or http_status(error) in (412, 409)


class Clients:
    """Boto3 clients for one AWS connection id, created lazily through the Amazon provider's hooks."""

    def __init__(self, aws_conn_id: str) -> None:
        self.aws_conn_id = aws_conn_id

    @functools.cached_property
    def s3(self) -> Any:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=self.aws_conn_id).get_conn()

    @functools.cached_property
    def sqs(self) -> Any:
        from airflow.providers.amazon.aws.hooks.sqs import SqsHook

        return SqsHook(aws_conn_id=self.aws_conn_id).get_conn()

    def _client(self, client_type: str) -> Any:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        return AwsBaseHook(aws_conn_id=self.aws_conn_id, client_type=client_type).get_conn()

    @functools.cached_property
    def cloudwatch(self) -> Any:
        return self._client("cloudwatch")

    @functools.cached_property
    def cloudformation(self) -> Any:
        return self._client("cloudformation")


def resolve_resources(settings: Settings, clients: Clients) -> Settings:
    """Fills bucket and queue names left empty from the CloudFormation stack's outputs (one call)."""
    if not settings.missing_resources():
        return settings
    stacks = clients.cloudformation.describe_stacks(StackName=settings.stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])} if stacks else {}
    return settings.with_stack_outputs(outputs)
