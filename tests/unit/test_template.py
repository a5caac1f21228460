"""template.yaml, transformed offline by the SAM translator, holds its grants and wiring.

The translator is the library CloudFormation's SAM transform runs, so the roles checked here are
the roles a deployment creates (SAM adds policies of its own, e.g. for the dead-letter
destination). Any change to a grant fails :func:`test_grants_are_exactly_these`: widen one only
on purpose, here and in README "Deploy" together.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from packaging.requirements import Requirement
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
LAYER_REQUIREMENTS = ROOT / "layers" / "logthread" / "requirements.txt"

PARAMETERS = {
    "SlackSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:logthread-AbCdEf",
    "DefaultChannel": "C0123456789",
}

PARTITION_REGION_ACCOUNT = "arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:%s"


def _sub(service: str, rest: str) -> dict[str, str]:
    return {"Fn::Sub": PARTITION_REGION_ACCOUNT % (service, rest)}


# (Sid or "", action, resource) for every Allow a role carries, action by action.
INGRESS_GRANTS = [
    ("ReadSlackSecret", "secretsmanager:GetSecretValue", {"Ref": "SlackSecretArn"}),
    ("PublishTasks", "sns:Publish", {"Ref": "TaskTopic"}),
]
LOG_GROUPS = _sub("logs", "log-group:${AllowedLogGroupPrefix}*")
WORKER_GRANTS = [
    ("ReadAllowedLogGroups", "logs:FilterLogEvents", LOG_GROUPS),
    ("ReadAllowedLogGroups", "logs:GetLogEvents", LOG_GROUPS),
    ("ReadAllowedLogGroups", "logs:StartQuery", LOG_GROUPS),
    ("ListLogGroupMetadata", "logs:DescribeLogGroups", _sub("logs", "log-group:*")),
    ("ListLogGroupMetadata", "logs:DescribeMetricFilters", _sub("logs", "log-group:*")),
    ("QueryResultsTakeNoResource", "logs:GetQueryResults", "*"),
    ("QueryResultsTakeNoResource", "logs:StopQuery", "*"),
    ("ReadAlarms", "cloudwatch:DescribeAlarms", _sub("cloudwatch", "alarm:*")),
    ("EpisodesAndIdempotency", "dynamodb:GetItem", {"Fn::GetAtt": ["EpisodeTable", "Arn"]}),
    ("EpisodesAndIdempotency", "dynamodb:PutItem", {"Fn::GetAtt": ["EpisodeTable", "Arn"]}),
    ("EpisodesAndIdempotency", "dynamodb:UpdateItem", {"Fn::GetAtt": ["EpisodeTable", "Arn"]}),
    ("EpisodesAndIdempotency", "dynamodb:DeleteItem", {"Fn::GetAtt": ["EpisodeTable", "Arn"]}),
    ("ReadSlackSecret", "secretsmanager:GetSecretValue", {"Ref": "SlackSecretArn"}),
    ("ReadAccountAlias", "iam:ListAccountAliases", "*"),
    ("DrawAlarmGraphs", "cloudwatch:GetMetricWidgetImage", "*"),
    ("DeadLetterSlackPosts", "sqs:SendMessage", {"Fn::GetAtt": ["SlackDeadLetterQueue", "Arn"]}),
    ("ScheduleFollowUps", "sqs:SendMessage", {"Fn::GetAtt": ["FollowUpQueue", "Arn"]}),
    *(
        ("ReceiveFollowUps", action, {"Fn::GetAtt": ["FollowUpQueue", "Arn"]})
        for action in (
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ChangeMessageVisibility",
        )
    ),
    # Added by SAM for EventInvokeConfig's OnFailure destination.
    ("", "sqs:SendMessage", {"Fn::GetAtt": ["WorkerDeadLetterQueue", "Arn"]}),
]
# What SAM attaches to every function role (logging) and to traced ones (X-Ray writes).
MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}


@functools.cache
def _transformed_json() -> str:
    sam = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    # Local paths are what `sam build` packages; the translator wants S3 locations, as
    # `sam validate` does before translating.
    for resource in sam["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = "s3://bucket/key"
    # The session only names a region for ${AWS::Region}; nothing is called.
    translator = Translator(
        None, Parser(), boto_session=boto3.session.Session(region_name="eu-west-1")
    )
    out = translator.translate(sam, dict(PARAMETERS), get_managed_policy_map=lambda: {})
    return json.dumps(out)


@pytest.fixture
def cfn() -> dict[str, Any]:
    return copy.deepcopy(json.loads(_transformed_json()))


def _of_type(cfn: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in cfn["Resources"].items() if v["Type"] == type_}


def _key(value: Any) -> Any:
    return json.dumps(value, sort_keys=True)


# The template's conditions on statements, as a deployment without source accounts has them.
SINGLE_ACCOUNT = {"HasSourceAccounts": False}


def _statements(role: dict[str, Any], conditions: dict[str, bool]) -> list[dict[str, Any]]:
    """The role's statements, each ``Fn::If`` decided by ``conditions``."""
    out = []
    for policy in role["Properties"].get("Policies", []):
        for st in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in st:
                name, then, otherwise = st["Fn::If"]
                st = then if conditions[name] else otherwise
                if st == {"Ref": "AWS::NoValue"}:
                    continue
            out.append(st)
    return out


def _grants(
    role: dict[str, Any], conditions: dict[str, bool] = SINGLE_ACCOUNT
) -> set[tuple[str, str, Any]]:
    grants = set()
    for policy in [{"PolicyDocument": {"Statement": _statements(role, conditions)}}]:
        for st in policy["PolicyDocument"]["Statement"]:
            assert st["Effect"] == "Allow"
            assert "NotAction" not in st and "NotResource" not in st
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            for action in actions:
                for resource in resources:
                    grants.add((st.get("Sid", ""), action, _key(resource)))
    return grants


def _expected(grants: list[tuple[str, str, Any]]) -> set[tuple[str, str, Any]]:
    return {(sid, action, _key(resource)) for sid, action, resource in grants}


def test_grants_are_exactly_these(cfn: dict[str, Any]) -> None:
    roles = _of_type(cfn, "AWS::IAM::Role")
    assert set(roles) == {"IngressFunctionRole", "WorkerFunctionRole"}
    assert _grants(roles["IngressFunctionRole"]) == _expected(INGRESS_GRANTS)
    assert _grants(roles["WorkerFunctionRole"]) == _expected(WORKER_GRANTS)
    for role in roles.values():
        assert set(role["Properties"]["ManagedPolicyArns"]) == MANAGED
    # No grant may arrive by another road.
    others = {v["Type"] for v in cfn["Resources"].values() if v["Type"].startswith("AWS::IAM::")}
    assert others == {"AWS::IAM::Role"}


def test_only_query_results_are_unscoped(cfn: dict[str, Any]) -> None:
    unscoped = {
        action
        for role in _of_type(cfn, "AWS::IAM::Role").values()
        for _sid, action, resource in _grants(role)
        if resource == _key("*")
    }
    # ListAccountAliases and GetMetricWidgetImage have no resource to scope to: they read
    # this account's alias and draw this account's metrics only.
    assert unscoped == {
        "logs:GetQueryResults",
        "logs:StopQuery",
        "iam:ListAccountAliases",
        "cloudwatch:GetMetricWidgetImage",
    }


def test_functions_run_python313_on_arm64_traced(cfn: dict[str, Any]) -> None:
    functions = _of_type(cfn, "AWS::Lambda::Function")
    assert set(functions) == {"IngressFunction", "WorkerFunction"}
    for fn in functions.values():
        props = fn["Properties"]
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]
        assert props["Handler"] == "app.handler"
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert len(props["Layers"]) == 1
    (layer,) = _of_type(cfn, "AWS::Lambda::LayerVersion").values()
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_environment(cfn: dict[str, Any]) -> None:
    fns = _of_type(cfn, "AWS::Lambda::Function")
    common = {
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
        "SLACK_SECRET_ARN",
        "DEFAULT_CHANNEL",
        "ALLOWED_LOG_GROUP_PREFIX",
        "LOGTHREAD_CONFIG_JSON",
        "ALLOWED_SOURCE_ACCOUNTS",
    }
    ingress = fns["IngressFunction"]["Properties"]["Environment"]["Variables"]
    worker = fns["WorkerFunction"]["Properties"]["Environment"]["Variables"]
    assert set(ingress) == common | {"TASK_TOPIC_ARN"}
    assert set(worker) == common | {
        "TABLE_NAME",
        "SLACK_DEAD_LETTER_QUEUE_URL",
        "TASK_TOPIC_ARN",
        "FOLLOW_UP_QUEUE_URL",
        "FOLLOW_UP_QUEUE_ARN",
    }
    assert worker["FOLLOW_UP_QUEUE_URL"] == {"Ref": "FollowUpQueue"}
    assert ingress["TASK_TOPIC_ARN"] == worker["TASK_TOPIC_ARN"] == {"Ref": "TaskTopic"}
    assert worker["TABLE_NAME"] == {"Ref": "EpisodeTable"}
    assert worker["SLACK_DEAD_LETTER_QUEUE_URL"] == {"Ref": "SlackDeadLetterQueue"}
    assert worker["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    # Both functions know the source accounts: the ingress refuses the others at once.
    assert (
        ingress["ALLOWED_SOURCE_ACCOUNTS"]
        == worker["ALLOWED_SOURCE_ACCOUNTS"]
        == {"Ref": "SourceAccountIds"}
    )


def _evaluate(value: Any, values: dict[str, str]) -> Any:
    """The few intrinsics the source-account grants use, with ``values`` for the references."""
    if isinstance(value, list):
        return [_evaluate(v, values) for v in value]
    if not isinstance(value, dict):
        return value
    ((name, arg),) = value.items()
    if name == "Ref":
        return values[arg]
    if name == "Fn::Split":
        return _evaluate(arg[1], values).split(arg[0])
    if name == "Fn::Join":
        return _evaluate(arg[0], values).join(_evaluate(arg[1], values))
    if name == "Fn::Sub":
        text, local = (arg, {}) if isinstance(arg, str) else arg
        known = {**values, **{k: _evaluate(v, values) for k, v in local.items()}}
        return re.sub(r"\$\{([^}]+)\}", lambda m: known[m[1]], text)
    raise AssertionError(f"unexpected intrinsic {name}")


def test_source_accounts_are_read_by_arn_under_the_prefix_only_when_listed(
    cfn: dict[str, Any],
) -> None:
    assert cfn["Conditions"]["HasSourceAccounts"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "SourceAccountIds"}, ""]}]
    }
    role = _of_type(cfn, "AWS::IAM::Role")["WorkerFunctionRole"]
    with_sources = _statements(role, {"HasSourceAccounts": True})
    added = [st for st in with_sources if st not in _statements(role, SINGLE_ACCOUNT)]
    assert [st["Sid"] for st in added] == [
        "ReadSourceAccountLogGroups",
        "ListSourceAccountLogGroups",
    ]
    values = {
        "AWS::Partition": "aws",
        "AWS::Region": "eu-west-1",
        "AllowedLogGroupPrefix": "/aws/lambda/",
        "SourceAccountIds": "210987654321,310987654321",
    }
    read, listing = added
    assert read["Action"] == ["logs:FilterLogEvents", "logs:GetLogEvents", "logs:StartQuery"]
    assert _evaluate(read["Resource"], values) == [
        "arn:aws:logs:eu-west-1:210987654321:log-group:/aws/lambda/*",
        "arn:aws:logs:eu-west-1:310987654321:log-group:/aws/lambda/*",
    ]
    assert listing["Action"] == "logs:DescribeLogGroups"
    assert _evaluate(listing["Resource"], {**values, "SourceAccountIds": "210987654321"}) == [
        "arn:aws:logs:eu-west-1:210987654321:log-group:*"
    ]


def test_ingress_answers_within_slacks_three_seconds(cfn: dict[str, Any]) -> None:
    props = cfn["Resources"]["IngressFunction"]["Properties"]
    assert props["Timeout"] <= 5
    assert props["MemorySize"] <= 512


def test_http_api_route(cfn: dict[str, Any]) -> None:
    (api,) = _of_type(cfn, "AWS::ApiGatewayV2::Api").values()
    paths = api["Properties"]["Body"]["paths"]
    assert list(paths) == ["/slack/events"]
    assert list(paths["/slack/events"]) == ["post"]
    integration = paths["/slack/events"]["post"]["x-amazon-apigateway-integration"]
    assert "IngressFunction" in json.dumps(integration["uri"])


def test_worker_is_bounded_and_fails_into_the_dead_letter_queue(cfn: dict[str, Any]) -> None:
    props = cfn["Resources"]["WorkerFunction"]["Properties"]
    assert props["ReservedConcurrentExecutions"] == {
        "Fn::If": [
            "HasWorkerReservation",
            {"Ref": "WorkerReservedConcurrency"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert cfn["Parameters"]["WorkerReservedConcurrency"]["Default"] == 2
    (invoke,) = _of_type(cfn, "AWS::Lambda::EventInvokeConfig").values()
    on_failure = invoke["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    assert on_failure == {"Fn::GetAtt": ["WorkerDeadLetterQueue", "Arn"]}


def test_worker_listens_to_task_alarm_and_existing_topics(cfn: dict[str, Any]) -> None:
    subs = _of_type(cfn, "AWS::SNS::Subscription")
    to_worker = {
        name: s
        for name, s in subs.items()
        if s["Properties"]["Endpoint"] == {"Fn::GetAtt": ["WorkerFunction", "Arn"]}
    }
    topics = [_key(s["Properties"]["TopicArn"]) for s in to_worker.values()]
    assert _key({"Ref": "TaskTopic"}) in topics
    assert _key({"Ref": "AlarmTopic"}) in topics
    existing = [n for n in to_worker if n.startswith("ExistingTopic")]
    assert len(existing) == 5
    assert all(subs[n]["Condition"] == f"HasExistingTopic{n[13]}" for n in existing)
    # Every way into the worker or the ingress names its source.
    for perm in _of_type(cfn, "AWS::Lambda::Permission").values():
        assert perm["Properties"].get("SourceArn")


def test_own_alarms_never_loop_into_the_bots_topics(cfn: dict[str, Any]) -> None:
    alarms = _of_type(cfn, "AWS::CloudWatch::Alarm")
    assert {"WorkerErrorsAlarm", "DeadLetterQueueAlarm"} <= set(alarms)
    for alarm in alarms.values():
        props = alarm["Properties"]
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            assert props.get(key, [{"Ref": "OpsTopic"}]) == [{"Ref": "OpsTopic"}], key
    # OpsTopic reaches people, never the worker.
    for sub in _of_type(cfn, "AWS::SNS::Subscription").values():
        if sub["Properties"]["TopicArn"] == {"Ref": "OpsTopic"}:
            assert sub["Properties"]["Protocol"] == "email"
    dlq = alarms["DeadLetterQueueAlarm"]["Properties"]
    assert dlq["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["WorkerDeadLetterQueue", "QueueName"]}
    slack_dlq = alarms["SlackDeadLetterQueueAlarm"]["Properties"]
    assert slack_dlq["Dimensions"][0]["Value"] == {
        "Fn::GetAtt": ["SlackDeadLetterQueue", "QueueName"]
    }


def test_alarm_topic_accepts_only_this_accounts_alarms_and_events(cfn: dict[str, Any]) -> None:
    policy = _of_type(cfn, "AWS::SNS::TopicPolicy")["AlarmTopicPolicy"]
    assert policy["Properties"]["Topics"] == [{"Ref": "AlarmTopic"}]
    for st in policy["Properties"]["PolicyDocument"]["Statement"]:
        assert st["Principal"] != "*" and st["Principal"] != {"AWS": "*"}
        if "Service" in st["Principal"]:
            assert st["Action"] == "sns:Publish"
            assert st["Condition"] == {
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
            }


def test_alarm_actions_invoke_the_worker_from_this_accounts_alarms_only(
    cfn: dict[str, Any],
) -> None:
    perms = _of_type(cfn, "AWS::Lambda::Permission")
    from_alarms = {
        n: p for n, p in perms.items() if "alarms.cloudwatch" in p["Properties"]["Principal"]
    }
    assert from_alarms == {
        "AlarmActionPermission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": "WorkerFunction"},
                "Principal": "lambda.alarms.cloudwatch.amazonaws.com",
                "SourceAccount": {"Ref": "AWS::AccountId"},
                "SourceArn": {
                    "Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}"
                    ":${AWS::AccountId}:alarm:*"
                },
            },
        }
    }


def test_only_the_ingress_role_may_publish_tasks(cfn: dict[str, Any]) -> None:
    policies = _of_type(cfn, "AWS::SNS::TopicPolicy")
    assert set(policies) == {"AlarmTopicPolicy", "TaskTopicPolicy"}
    policy = policies["TaskTopicPolicy"]["Properties"]
    assert policy["Topics"] == [{"Ref": "TaskTopic"}]
    ingress = {"Fn::GetAtt": ["IngressFunctionRole", "Arn"]}
    publish = [
        st
        for st in policy["PolicyDocument"]["Statement"]
        if "sns:Publish" in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
    ]
    allow = [st for st in publish if st["Effect"] == "Allow"]
    deny = [st for st in publish if st["Effect"] == "Deny"]
    assert [st["Principal"] for st in allow] == [{"AWS": ingress}]
    [guard] = deny
    assert guard["Principal"] == "*"
    assert guard["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": ingress}}


def test_table(cfn: dict[str, Any]) -> None:
    props = cfn["Resources"]["EpisodeTable"]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_outputs(cfn: dict[str, Any]) -> None:
    outputs = cfn["Outputs"]
    url = outputs["SlackRequestUrl"]["Value"]["Fn::Sub"]
    assert url.startswith("https://${SlackApi}.execute-api.") and url.endswith("/slack/events")
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}


def test_layer_pins_satisfy_the_projects_own_ranges() -> None:
    """The layer ships what the tests run against: every pin within pyproject's range."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {Requirement(r).name.lower(): Requirement(r) for r in project["dependencies"]}
    pins: dict[str, str] = {}
    for line in LAYER_REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert re.fullmatch(r"[0-9][0-9A-Za-z.]*", version), f"pin exactly: {line}"
            pins[name.lower()] = version
    # boto3 comes with the Lambda runtime; everything else the package declares must ship.
    assert set(declared) - {"boto3"} <= set(pins)
    for name, requirement in declared.items():
        if name in pins:
            assert requirement.specifier.contains(pins[name]), (name, pins[name])
    assert "aws-xray-sdk" in pins  # Powertools Tracer's extra


def test_follow_ups_wait_in_their_own_queue_read_by_the_worker(cfn: dict[str, Any]) -> None:
    (mapping,) = _of_type(cfn, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["FollowUpQueue", "Arn"]}
    assert props["FunctionName"] == {"Ref": "WorkerFunction"}
    assert props["BatchSize"] == 1
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = cfn["Resources"]["FollowUpQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * 120  # six times the worker's timeout
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["WorkerDeadLetterQueue", "Arn"]
    }


def test_only_the_worker_sends_to_its_dead_letter_and_follow_up_queues(
    cfn: dict[str, Any],
) -> None:
    (policy,) = _of_type(cfn, "AWS::SQS::QueuePolicy").values()
    props = policy["Properties"]
    assert props["Queues"] == [{"Ref": "WorkerDeadLetterQueue"}, {"Ref": "FollowUpQueue"}]
    (deny,) = props["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sqs:SendMessage")
    worker = {"Fn::GetAtt": ["WorkerFunctionRole", "Arn"]}
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": worker}}
