"""SES sending identity and configuration set, its bounce and complaint events (SNS), and the
alert topic the alarms publish to."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infrastructure.config import EnvironmentConfig
from infrastructure.policies import alert_topic_publishers


class Notifications(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        key: kms.IKey,
        sender_email: str,
        alert_email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.sender_email = sender_email
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            configuration_set_name=config.configuration_set,
            reputation_metrics=True,
            sending_enabled=True,
            # Reports carry a client's spending: never hand them to a server that cannot take TLS.
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
            # SES itself also stops sending to addresses that hard-bounced or complained.
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        self.configuration_set_arn = (
            f"arn:{Aws.PARTITION}:ses:{Aws.REGION}:{Aws.ACCOUNT_ID}:configuration-set/{config.configuration_set}"
        )
        # Domain identity with Easy DKIM: the operator publishes the three CNAME records (stack
        # outputs) in the domain's DNS; no DNS lookup happens at synth.
        self.identity = ses.EmailIdentity(
            self,
            "SenderDomain",
            identity=ses.Identity.domain(sender_email.split("@", 1)[1]),
            configuration_set=self.configuration_set,
        )

        self.feedback_topic = self._topic(
            "FeedbackTopic", config.feedback_topic, "Cost reporting: SES bounces and complaints", key
        )
        self.feedback_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SesEventPublishing",
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.feedback_topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": self.configuration_set_arn},
                },
            )
        )
        self.configuration_set.add_event_destination(
            "BouncesAndComplaints",
            destination=ses.EventDestination.sns_topic(self.feedback_topic),
            events=[ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT],
        )

        self.alerts_topic = self._topic("AlertsTopic", config.alerts_topic, "Cost reporting alerts", key)
        # CloudWatch must be allowed in the topic's own policy (the key policy alone is not enough).
        for statement in alert_topic_publishers(
            self.alerts_topic.topic_arn, partition=Aws.PARTITION, region=Aws.REGION, account=Aws.ACCOUNT_ID
        ):
            self.alerts_topic.add_to_resource_policy(iam.PolicyStatement.from_json(statement))
        if alert_email:
            self.alerts_topic.add_subscription(subscriptions.EmailSubscription(alert_email))

    def deliver_feedback_to(self, handler: lambda_.IFunction) -> None:
        self.feedback_topic.add_subscription(subscriptions.LambdaSubscription(handler))

    def _topic(self, construct_id: str, name: str, display_name: str, key: kms.IKey) -> sns.Topic:
        """A topic encrypted with the project's key, refusing publishers that do not use TLS."""
        return sns.Topic(
            self, construct_id, topic_name=name, display_name=display_name, master_key=key, enforce_ssl=True
        )
