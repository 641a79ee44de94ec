"""Dashboard `Cost-Reporting-System` and the alarms that publish to the alert topic, through
cdk-monitoring-constructs: its Lambda and SQS monitors already draw the standard widgets
(latency percentiles against the timeout, queue age, DLQ depth) and name alarms consistently;
the platform's own EMF metrics and SES reputation are custom groups of the same facade.
"""

from __future__ import annotations

from dataclasses import dataclass

import cdk_monitoring_constructs as mc
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infrastructure.config import METRICS_NAMESPACE, EnvironmentConfig

# Thresholds the issue and the runbook set.
DURATION_PERCENT_OF_TIMEOUT = 80
BOUNCE_RATE = 0.05  # AWS reviews an account's sending above 5% bounces ...
COMPLAINT_RATE = 0.001  # ... and above 0.1% complaints.
NO_REPORT_HOURS = 26  # a daily run plus two hours of slack


@dataclass(frozen=True)
class MonitoredFunction:
    function: lambda_.IFunction
    name: str  # alarm-friendly, e.g. "Worker"
    title: str


@dataclass(frozen=True)
class MonitoredQueue:
    """A queue a worker consumes, and its dead-letter queue (alarmed on its first message)."""

    queue: sqs.IQueue
    dead_letter_queue: sqs.IQueue
    name: str  # alarm-friendly, e.g. "Jobs"
    title: str


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        workers: list[MonitoredFunction],
        others: list[MonitoredFunction],
        queues: list[MonitoredQueue],
        events_dead_letter_queue: sqs.IQueue,
        alerts_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboards = mc.DefaultDashboardFactory(
            self,
            "Dashboards",
            dashboard_name_prefix=config.dashboard,
            create_dashboard=True,
            create_summary_dashboard=False,
            create_alarm_dashboard=False,
            detail_dashboard_range=Duration.days(2),
        )
        self.facade = mc.MonitoringFacade(
            self,
            "Facade",
            alarm_factory_defaults=mc.AlarmFactoryDefaults(
                alarm_name_prefix=f"CostReporting-{config.environment}",
                actions_enabled=True,
                action=mc.SnsAlarmActionStrategy(on_alarm_topic=alerts_topic, on_ok_topic=alerts_topic),
                datapoints_to_alarm=1,
                evaluation_periods=1,
            ),
            metric_factory_defaults=mc.MetricFactoryDefaults(namespace=METRICS_NAMESPACE, period=Duration.minutes(5)),
            dashboard_factory=self.dashboards,
        )
        self.facade.add_large_header(f"Cost reporting ({config.environment})")

        any_error = {"Critical": mc.ErrorCountThreshold(max_error_count=0)}
        # The workers (Cost Explorer's and the export worker): errors, throttles and a run near its timeout.
        for worker in workers:
            self.facade.monitor_lambda_function(
                lambda_function=worker.function,
                alarm_friendly_name=worker.name,
                human_readable_name=worker.title,
                latency_types_to_render=[mc.LatencyType.P50, mc.LatencyType.P95, mc.LatencyType.P100],
                add_fault_count_alarm=any_error,
                add_throttles_count_alarm=any_error,
                add_max_latency_alarm={
                    "Critical": mc.LatencyTimeoutPercentageThreshold(
                        max_latency_percentage_of_timeout=DURATION_PERCENT_OF_TIMEOUT
                    )
                },
            )
        for other in others:
            self.facade.monitor_lambda_function(
                lambda_function=other.function,
                alarm_friendly_name=other.name,
                human_readable_name=other.title,
                latency_types_to_render=[mc.LatencyType.P50, mc.LatencyType.P95, mc.LatencyType.P100],
                add_fault_count_alarm=any_error,
            )

        any_message = {"Critical": mc.MaxMessageCountThreshold(max_message_count=0)}
        for monitored in queues:
            self.facade.monitor_sqs_queue_with_dlq(
                queue=monitored.queue,
                dead_letter_queue=monitored.dead_letter_queue,
                alarm_friendly_name=monitored.name,
                human_readable_name=monitored.title,
                add_dead_letter_queue_max_size_alarm=any_message,
            )
        self.facade.monitor_sqs_queue(
            queue=events_dead_letter_queue,
            alarm_friendly_name="FailedEvents",
            human_readable_name="Failed schedule and SES feedback events",
            add_queue_max_size_alarm=any_message,
        )

        self.facade.monitor_custom(
            alarm_friendly_name="Reports",
            human_readable_name="Reports and Cost Explorer",
            metric_groups=[
                mc.CustomMetricGroup(
                    title="Reports sent",
                    metrics=[
                        mc.CustomMetricWithAlarm(
                            metric=_platform_metric(config.service_name, "ReportsSent", Duration.hours(1)),
                            alarm_friendly_name="NoReportSent",
                            add_alarm={
                                "Critical": mc.CustomThreshold(
                                    threshold=1,
                                    comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                                    # Every one of the last 26 hours without a report; no data is no report.
                                    evaluation_periods=NO_REPORT_HOURS,
                                    datapoints_to_alarm=NO_REPORT_HOURS,
                                    treat_missing_data_override=cloudwatch.TreatMissingData.BREACHING,
                                    alarm_description_override=f"No report sent in {NO_REPORT_HOURS} hours",
                                )
                            },
                        ),
                        _platform_metric(config.service_name, "RunsFailed", Duration.hours(1)),
                        _platform_metric(config.service_name, "RunsDispatched", Duration.hours(1)),
                    ],
                ),
                mc.CustomMetricGroup(
                    title="Reports not sent because their core figures could not all be read",
                    metrics=[
                        mc.CustomMetricWithAlarm(
                            metric=_platform_metric(config.service_name, "RunsIncomplete", Duration.hours(1)),
                            alarm_friendly_name="ReportsIncomplete",
                            add_alarm={
                                "Warning": mc.CustomThreshold(
                                    threshold=0,
                                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                                    treat_missing_data_override=cloudwatch.TreatMissingData.NOT_BREACHING,
                                    alarm_description_override=(
                                        "A client's report was not sent: Cost Explorer's answers did not all fit "
                                        "its request budget (ops client-health lists it; report run sends it)"
                                    ),
                                )
                            },
                        )
                    ],
                ),
                mc.CustomMetricGroup(
                    title="Report links signed for 1 hour, not 7 days (link signer unreadable)",
                    metrics=[
                        mc.CustomMetricWithAlarm(
                            metric=_platform_metric(config.service_name, "LinkSignerUnavailable", Duration.hours(1)),
                            alarm_friendly_name="LinkSignerUnavailable",
                            add_alarm={
                                "Critical": mc.CustomThreshold(
                                    threshold=0,
                                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                                    treat_missing_data_override=cloudwatch.TreatMissingData.NOT_BREACHING,
                                    alarm_description_override=(
                                        "Reports went out with links that expire after 1 hour: the worker cannot "
                                        "read the link signer's key (docs/deploy.md)"
                                    ),
                                )
                            },
                        )
                    ],
                ),
                mc.CustomMetricGroup(
                    title="Cost Explorer requests (USD 0.01 each)",
                    metrics=[_platform_metric(config.service_name, "CostExplorerRequests", Duration.hours(1))],
                ),
            ],
        )
        self.facade.monitor_custom(
            alarm_friendly_name="Ses",
            human_readable_name="SES reputation (account, 0 to 1)",
            metric_groups=[
                mc.CustomMetricGroup(
                    title="Bounce and complaint rates",
                    metrics=[
                        _ses_rate("Reputation.BounceRate", "BounceRate", BOUNCE_RATE),
                        _ses_rate("Reputation.ComplaintRate", "ComplaintRate", COMPLAINT_RATE),
                    ],
                ),
                mc.CustomMetricGroup(
                    title="Recipients suppressed (feedback handler)",
                    metrics=[_platform_metric(config.service_name, "RecipientsSuppressed", Duration.hours(1))],
                ),
            ],
        )


def _platform_metric(service: str, name: str, period: Duration) -> cloudwatch.Metric:
    """An EMF metric of the handlers (Powertools: namespace CostReporting, dimension service)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": service},
        statistic="Sum",
        period=period,
        label=name,
    )


def _ses_rate(metric_name: str, friendly: str, threshold: float) -> mc.CustomMetricWithAlarm:
    # Account-level reputation: the figure AWS acts on (sending review or pause), across every
    # configuration set.
    return mc.CustomMetricWithAlarm(
        metric=cloudwatch.Metric(
            namespace="AWS/SES", metric_name=metric_name, statistic="Maximum", period=Duration.hours(1), label=friendly
        ),
        alarm_friendly_name=friendly,
        add_alarm={
            "Critical": mc.CustomThreshold(
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data_override=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description_override=f"SES {friendly} above {threshold:.1%}",
            )
        },
    )
