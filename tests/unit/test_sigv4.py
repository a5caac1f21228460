"""The ack path's SigV4 calls: signatures held to botocore's, SNS and Secrets Manager on moto.

``logthread.sigv4`` signs without botocore (whose import is most of a boto3 cold
start); these tests sign the same requests with botocore's ``SigV4Auth`` and want
the same ``Authorization``, then publish and read a secret on a real moto server.
"""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from logthread import sigv4
from logthread.bus import SnsTaskBus
from logthread.query import SearchQuery
from logthread.tasks import ReplyTo, SearchTask, parse_task

KEYS = sigv4.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "")
SESSION = sigv4.Credentials("ASIAEXAMPLE", "c2VjcmV0/key+with/slashes", "FQoGZXIvYXdzE//token==")


def botocore_signed(
    url: str, headers: dict[str, str], body: bytes, creds: sigv4.Credentials, service: str
) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, headers=dict(headers), data=body)
    boto_creds = BotoCredentials(creds.access_key, creds.secret_key, creds.token or None)
    SigV4Auth(boto_creds, service, "eu-west-1").add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("creds", [KEYS, SESSION], ids=["keys", "session token"])
@pytest.mark.parametrize(
    ("url", "service", "headers", "body"),
    [
        (
            "https://sns.eu-west-1.amazonaws.com",
            "sns",
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            b"Action=Publish&Version=2010-03-31&Message=caf%C3%A9%20%E2%80%A6",
        ),
        (
            "https://secretsmanager.eu-west-1.amazonaws.com/",
            "secretsmanager",
            {
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "secretsmanager.GetSecretValue",
            },
            b'{"SecretId": "arn:aws:secretsmanager:eu-west-1:1:secret:slack"}',
        ),
        (
            "http://127.0.0.1:5000",
            "sns",
            {"Content-Type": "text/plain", "User-Agent": "not signed", "X-Odd": "  a   b "},
            b"",
        ),
        ("https://sns.eu-west-1.amazonaws.com:443/some-path/~x?b=2&a=1&c=%2F&d=", "sns", {}, b"x"),
    ],
    ids=["sns publish", "secrets manager", "loopback with port", "path and query"],
)
def test_signature_matches_botocore(
    url: str, service: str, headers: dict[str, str], body: bytes, creds: sigv4.Credentials
) -> None:
    theirs = botocore_signed(url, headers, body, creds, service)
    ours = sigv4.sign(
        "POST",
        url,
        headers,
        body,
        service=service,
        region="eu-west-1",
        credentials=creds,
        amz_date=theirs["X-Amz-Date"],
    )
    assert ours["Authorization"] == theirs["Authorization"]
    assert ours.get("X-Amz-Security-Token") == theirs.get("X-Amz-Security-Token")


def test_target_from_the_environment() -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "AKID",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "tok",
        "AWS_REGION": "eu-west-1",
    }
    target = sigv4.from_env("sns", env)
    assert target is not None
    assert (target.endpoint, target.region, target.credentials.token) == (
        "https://sns.eu-west-1.amazonaws.com",
        "eu-west-1",
        "tok",
    )
    assert "secret" not in repr(target)
    local = sigv4.from_env("sns", {**env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9/"})
    assert local is not None and local.endpoint == "http://127.0.0.1:9"
    just_sns = {**env, "AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_SNS": "http://b:2"}
    assert getattr(sigv4.from_env("sns", just_sns), "endpoint", "") == "http://b:2"
    # No keys in the environment (a profile, an instance role): the caller uses boto3.
    assert sigv4.from_env("sns", {"AWS_REGION": "eu-west-1"}) is None


def task() -> SearchTask:
    query = SearchQuery(request_id="3f2a9c1e", functions=("checkout-api",))
    return SearchTask(
        query, ReplyTo(channel="C1", response_url="https://hooks/x"), origin="command"
    )


def test_publish_reaches_sns_as_botos_would(aws: str) -> None:
    sns = boto3.client("sns")
    sqs = boto3.client("sqs")
    topic = sns.create_topic(Name="sigv4-tasks")["TopicArn"]
    queue = sqs.create_queue(QueueName="sigv4-tasks")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
    target = sigv4.from_env("sns")
    assert target is not None and target.endpoint == aws

    sent = task()
    bus = SnsTaskBus(sigv4.SnsClient(target), topic)
    message_id = bus.publish(sent)
    bus.publish_body('{"a": "caf\u00e9 & <b>"}', kind="alarm_rescan")

    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    envelopes = [json.loads(m["Body"]) for m in got["Messages"]]
    first = next(e for e in envelopes if e["MessageId"] == message_id)
    assert parse_task(first["Message"]) == sent
    assert first["Subject"] == "logthread task"
    assert first["MessageAttributes"]["logthread_kind"]["Value"] == "task"
    assert first["MessageAttributes"]["origin"]["Value"] == "command"
    [other] = [e for e in envelopes if e["MessageId"] != message_id]
    assert other["Message"] == '{"a": "caf\u00e9 & <b>"}'
    assert other["MessageAttributes"]["logthread_kind"]["Value"] == "alarm_rescan"


def test_a_refused_publish_raises_with_awss_code(aws: str) -> None:
    target = sigv4.from_env("sns")
    assert target is not None
    missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    with pytest.raises(sigv4.AwsError) as caught:
        sigv4.SnsClient(target).publish(TopicArn=missing, Message="x")
    assert caught.value.code == "NotFound"


def test_an_unreachable_endpoint_raises() -> None:
    target = sigv4.Target("sns", "us-east-1", "http://127.0.0.1:9", KEYS)
    with pytest.raises(OSError):
        sigv4.SnsClient(target, timeout=1).publish(TopicArn="arn:x", Message="x")


def test_secret_string_from_secrets_manager(aws: str) -> None:
    secret = {"bot_token": "xoxb-1", "signing_secret": "s3cr3t"}
    arn = boto3.client("secretsmanager").create_secret(
        Name="sigv4-slack", SecretString=json.dumps(secret)
    )["ARN"]
    target = sigv4.from_env("secretsmanager")
    assert target is not None
    assert json.loads(sigv4.get_secret_string(target, arn)) == secret
    with pytest.raises(sigv4.AwsError) as caught:
        sigv4.get_secret_string(target, arn + "-gone")
    assert caught.value.code == "ResourceNotFoundException"


def test_the_module_imports_neither_boto3_nor_botocore() -> None:
    code = (
        "import sys, logthread.sigv4\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_ingress_reads_its_signing_secret_without_boto3(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from logthread.secrets import CredentialsError, signing_secret

    secrets = boto3.client("secretsmanager")
    good = secrets.create_secret(
        Name="lean-slack", SecretString=json.dumps({"bot_token": "b", "signing_secret": "s"})
    )["ARN"]
    bad = secrets.create_secret(Name="lean-bad", SecretString="not json")["ARN"]
    monkeypatch.setenv("SLACK_SECRET_ARN", good)
    assert signing_secret(lean=True) == "s"
    monkeypatch.setenv("SLACK_SECRET_ARN", bad)
    with pytest.raises(CredentialsError, match="not JSON"):
        signing_secret(lean=True)
    monkeypatch.setenv("SLACK_SECRET_ARN", good + "-gone")
    with pytest.raises(CredentialsError, match="cannot read"):
        signing_secret(lean=True)
