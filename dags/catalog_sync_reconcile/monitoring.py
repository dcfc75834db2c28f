"""What the ``health`` task reads and publishes besides S3: CloudWatch metrics and the queue's depth and age."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from catalog_sync_reconcile.aws import Clients
from catalog_sync_reconcile.settings import Settings


class Monitoring:
    """The CloudWatch and SQS half of ``Storage`` (a mixin: ``Storage`` holds settings, clients, clock)."""

    settings: Settings
    clients: Clients
    clock: Callable[[], datetime]

    def put_metrics(self, values: dict[str, float], units: dict[str, str]) -> None:
        """One PutMetricData of this run's values: namespace ``catalog_sync_metrics_namespace``,
        dimension ``service=reconciliation``, timestamped with the wall clock (alarms judge "now")."""
        now = self.clock()
        dimensions = [{"Name": "service", "Value": "reconciliation"}]
        self.clients.cloudwatch.put_metric_data(
            Namespace=self.settings.metrics_namespace,
            MetricData=[
                {"MetricName": name, "Dimensions": dimensions, "Timestamp": now, "Value": value, "Unit": units[name]}
                for name, value in values.items()
            ],
        )

    def queue_depth(self, queue_url: str) -> int:
        """Visible + in flight + delayed: everything the queue still holds."""
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        got = self.clients.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)
        attributes = got["Attributes"]
        return sum(int(attributes.get(name, 0)) for name in names)

    def oldest_message_age(self) -> timedelta | None:
        """The queue's ApproximateAgeOfOldestMessage from CloudWatch (AWS/SQS), latest 1-minute maximum.

        SQS has no queue attribute for it, and peeking (ReceiveMessage with VisibilityTimeout=0) would
        raise every message's receive count toward the redrive policy's maxReceiveCount: hourly peeks
        alone could push an unprocessed message into the DLQ. CloudWatch reads nothing from the queue.
        None when there is no datapoint in the last 15 minutes (SQS stops publishing for idle queues).
        """
        queue_name = self.settings.queue_url.rstrip("/").rsplit("/", 1)[-1]
        end = self.clock()
        result = self.clients.cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "oldest",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SQS",
                            "MetricName": "ApproximateAgeOfOldestMessage",
                            "Dimensions": [{"Name": "QueueName", "Value": queue_name}],
                        },
                        "Period": 60,
                        "Stat": "Maximum",
                    },
                }
            ],
            StartTime=end - timedelta(minutes=15),
            EndTime=end + timedelta(minutes=1),
            ScanBy="TimestampDescending",
        )
        values = result["MetricDataResults"][0].get("Values", []) if result["MetricDataResults"] else []
        return timedelta(seconds=float(values[0])) if values else None
