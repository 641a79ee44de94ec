"""The report's link, signed by the link signer (an IAM user's key: valid the 7 days the email
promises) or, without one, by the platform's own credentials for 1 hour; the email says which.
S3's own checks of a presigned link (signature, expiry) are made by tests/security/sigv4.py, which
moto does not do; the object itself is fetched over HTTP from the embedded AWS."""

from __future__ import annotations

import json
import os
import urllib.request
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from infrastructure.config import for_environment
from lambdas.dal.archive import ReportArchive
from lambdas.models.events import ReportJob
from lambdas.models.settings import get_settings
from tests.integration.conftest import AS_OF
from tests.integration.runs import register
from tests.reliability.conftest import logs, quick_backoff  # noqa: F401 - fixtures of the fault suite
from tests.reliability.faults import Faults
from tests.reliability.observe import emf_metrics, mail_to, record
from tests.reliability.test_redelivery import deliver
from tests.security.sigv4 import s3_answer

CONFIG = for_environment("local")
PLATFORM_SECRET = "testing"  # the platform's own credentials in the tests (tests/conftest.py)
SEVEN_DAYS, ONE_HOUR = 7 * 24 * 3600, 3600


@pytest.fixture
def acme(platform, demo_records):
    return register(demo_records[0])


@pytest.fixture
def faults(platform):
    injected = Faults()
    yield injected
    injected.close()


def signer_keys() -> dict[str, str]:
    value = boto3.client("secretsmanager").get_secret_value(SecretId=CONFIG.link_signer_secret)["SecretString"]
    return json.loads(value)  # type: ignore[no-any-return]


def run_acme(acme: Any) -> tuple[str, Message]:
    """One scheduled run through the worker handler: the archived link and the email sent."""
    job = ReportJob.scheduled(acme.client_id, acme.schedule, AS_OF)
    assert deliver(job)[0] == {"batchItemFailures": []}
    execution = record(acme.client_id, job.run_id)
    assert execution is not None and (execution.status, execution.delivery) == ("succeeded", "sent")
    archive = ReportArchive(get_settings().assets_bucket)
    link = json.loads(archive.get(f"reports/{acme.client_id}/{job.run_id}/report.json"))["archive_url"]
    [message] = mail_to(os.environ["AWS_ENDPOINT_URL"], acme.recipients[0])
    return link, message


def parts(message: Message) -> dict[str, str]:
    found = {}
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            found[part.get_content_type()] = part.get_payload(decode=True).decode()  # type: ignore[union-attr]
    return found


def query(link: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}


def signed_at(link: str) -> datetime:
    return datetime.strptime(query(link)["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def fetch(link: str) -> bytes:
    with urllib.request.urlopen(link, timeout=10) as answer:  # noqa: S310 - the loopback emulator
        return answer.read()  # type: ignore[no-any-return]


def assert_email_states(message: Message, link: str, lifetime: str) -> None:
    body = parts(message)
    sentence = f"The link expires {lifetime} after this email was sent."
    assert sentence in body["text/plain"] and link in body["text/plain"]
    assert sentence in body["text/html"]


def test_the_link_is_signed_by_the_link_signer_for_seven_days_and_the_email_says_so(acme, logs, capsys):  # noqa: F811
    keys = signer_keys()
    iam = boto3.client("iam")
    [listed] = iam.list_access_keys(UserName=CONFIG.link_signer_user)["AccessKeyMetadata"]
    assert listed["AccessKeyId"] == keys["access_key_id"]  # the provisioned signer, as the stack makes it

    link, message = run_acme(acme)

    signature = query(link)
    assert signature["X-Amz-Credential"].startswith(keys["access_key_id"] + "/")
    assert "X-Amz-Security-Token" not in signature  # a user's long-term key, not temporary credentials
    assert signature["X-Amz-Expires"] == str(SEVEN_DAYS)
    at = signed_at(link)
    assert s3_answer(link, keys["secret_access_key"], at + timedelta(days=7) - timedelta(seconds=1)) == "served"
    assert s3_answer(link, keys["secret_access_key"], at + timedelta(days=7, seconds=1)) == "AccessDenied (expired)"
    assert s3_answer(link, PLATFORM_SECRET, at) == "SignatureDoesNotMatch"  # not the platform's signature
    assert fetch(link).startswith(b"<!DOCTYPE html")
    assert_email_states(message, link, "7 days")
    assert emf_metrics(capsys.readouterr().out)["LinkSignerUnavailable"] == 0
    assert keys["secret_access_key"] not in logs.text


def test_without_a_signer_the_platform_signs_for_one_hour_and_the_email_says_so(acme, logs, capsys, monkeypatch):  # noqa: F811
    from lambdas.handlers import worker

    monkeypatch.setenv("LINK_SIGNER_SECRET", "")  # as in an environment without a signer
    get_settings.cache_clear()
    worker._runner.cache_clear()

    link, message = run_acme(acme)

    signature = query(link)
    assert signature["X-Amz-Expires"] == str(ONE_HOUR)
    assert signature["X-Amz-Credential"].startswith("testing/")
    at = signed_at(link)
    assert s3_answer(link, PLATFORM_SECRET, at + timedelta(minutes=59)) == "served"
    assert s3_answer(link, PLATFORM_SECRET, at + timedelta(hours=1, seconds=1)) == "AccessDenied (expired)"
    assert fetch(link).startswith(b"<!DOCTYPE html")
    assert_email_states(message, link, "1 hour")
    # Not configured is not a fault: no warning, no metric.
    assert emf_metrics(capsys.readouterr().out)["LinkSignerUnavailable"] == 0
    assert not [line for line in logs.lines() if "link signer" in line["message"]]


def _delete_the_secret(faults: Faults) -> None:
    boto3.client("secretsmanager").delete_secret(SecretId=CONFIG.link_signer_secret, ForceDeleteWithoutRecovery=True)


def _break_the_secret(faults: Faults) -> None:
    value = json.dumps({"access_key_id": signer_keys()["access_key_id"]})  # the secret key is missing
    boto3.client("secretsmanager").put_secret_value(SecretId=CONFIG.link_signer_secret, SecretString=value)


def _secrets_manager_down(faults: Faults) -> None:
    def signer_read(request: Any) -> bool:
        return CONFIG.link_signer_secret in request.body

    faults.fail("secrets-manager", "GetSecretValue", "InternalServiceError", status=500, when=signer_read)


def _read_refused(faults: Faults) -> None:
    faults.fail("secrets-manager", "GetSecretValue", "AccessDeniedException", status=400)


UNREADABLE = [
    # (how, UNAUTHORIZED logged, what the warning names)
    (_delete_the_secret, True, "ResourceNotFoundException"),
    (_break_the_secret, True, "is not JSON with access_key_id and secret_access_key"),
    (_secrets_manager_down, False, "InternalServiceError"),
    (_read_refused, True, "AccessDeniedException"),
]


@pytest.mark.usefixtures("quick_backoff")
@pytest.mark.parametrize(("make_unreadable", "refused", "named"), UNREADABLE, ids=[u[0].__name__ for u in UNREADABLE])
def test_a_signer_that_cannot_be_read_never_fails_the_run_it_is_logged_counted_and_the_link_lasts_one_hour(
    acme,
    faults,
    capsys,
    make_unreadable,
    refused,
    named,
    logs,  # noqa: F811
):
    secret_key = signer_keys()["secret_access_key"]
    make_unreadable(faults)

    link, message = run_acme(acme)

    assert query(link)["X-Amz-Expires"] == str(ONE_HOUR)
    assert s3_answer(link, PLATFORM_SECRET, signed_at(link)) == "served"
    assert_email_states(message, link, "1 hour")
    assert emf_metrics(capsys.readouterr().out)["LinkSignerUnavailable"] == 1
    [warning] = [line for line in logs.lines() if line["message"].startswith("link signer unavailable")]
    assert warning["level"] == "WARNING" and named in warning["error"]
    unauthorized = logs.marked("UNAUTHORIZED")
    assert len(unauthorized) == (1 if refused else 0)
    if refused:
        assert unauthorized[0]["message"].startswith("UNAUTHORIZED link signer refused")
    assert secret_key not in logs.text and secret_key not in str(message)
