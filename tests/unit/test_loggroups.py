"""A log group in an account: ARNs, identifiers, parsing back."""

from __future__ import annotations

import pytest

from logthread.loggroups import LogGroupRef, partition_of

SOURCE = "210987654321"
OWN = "123456789012"


def test_the_own_account_is_sent_by_plain_name_a_source_account_by_arn() -> None:
    assert LogGroupRef.own("/aws/lambda/a").identifier("eu-west-1") == "/aws/lambda/a"
    assert LogGroupRef(OWN, "/aws/lambda/a").identifier("eu-west-1", own_account=OWN) == (
        "/aws/lambda/a"
    )
    assert LogGroupRef(SOURCE, "/aws/lambda/a").identifier("eu-west-1", own_account=OWN) == (
        f"arn:aws:logs:eu-west-1:{SOURCE}:log-group:/aws/lambda/a"
    )


def test_the_arn_has_the_partition_of_its_region() -> None:
    assert partition_of("cn-north-1") == "aws-cn"
    assert partition_of("us-gov-west-1") == "aws-us-gov"
    assert LogGroupRef(SOURCE, "/x").arn("cn-north-1").startswith("arn:aws-cn:logs:cn-north-1:")
    with pytest.raises(ValueError, match="not known"):
        LogGroupRef.own("/x").arn("eu-west-1")
    assert LogGroupRef.own("/x").arn("eu-west-1", OWN).endswith(f":{OWN}:log-group:/x")


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:logs:eu-west-1:{SOURCE}:log-group:/aws/lambda/a",
        f"arn:aws:logs:eu-west-1:{SOURCE}:log-group:/aws/lambda/a:*",  # DescribeLogGroups' arn
    ],
)
def test_an_arn_parses_back(arn: str) -> None:
    assert LogGroupRef.from_arn(arn) == LogGroupRef(SOURCE, "/aws/lambda/a")
    assert LogGroupRef.from_identifier(arn) == LogGroupRef(SOURCE, "/aws/lambda/a")


@pytest.mark.parametrize(
    "text",
    [
        "arn:aws:logs:eu-west-1:12345:log-group:/a",
        "arn:aws:s3:::bucket",
        f"arn:aws:logs:eu-west-1:{SOURCE}:log-group:",
        f"arn:aws:logs:eu-west-1:{SOURCE}:destination:x",
    ],
)
def test_what_is_not_a_log_group_arn_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        LogGroupRef.from_arn(text)


def test_an_entry_is_read_by_its_arn_when_it_carries_one() -> None:
    linked = {
        "logGroupName": "/aws/lambda/a",
        "logGroupArn": f"arn:aws:logs:r-1:{SOURCE}:log-group:/aws/lambda/a",
    }
    assert LogGroupRef.from_entry(linked) == LogGroupRef(SOURCE, "/aws/lambda/a")
    described = {"logGroupName": "/b", "arn": f"arn:aws:logs:r-1:{OWN}:log-group:/b:*"}
    assert LogGroupRef.from_entry(described).local(OWN) == LogGroupRef.own("/b")
    assert LogGroupRef.from_entry({"logGroupName": "/c"}) == LogGroupRef.own("/c")


def test_account_colon_name_as_insights_writes_it() -> None:
    assert LogGroupRef.parse(f"{SOURCE}:/aws/lambda/a") == LogGroupRef(SOURCE, "/aws/lambda/a")
    assert LogGroupRef.parse("/aws/lambda/a") == LogGroupRef.own("/aws/lambda/a")
    assert str(LogGroupRef(SOURCE, "/a")) == f"{SOURCE}:/a"
    assert str(LogGroupRef.own("/a")) == "/a"


def test_a_bad_account_or_name_is_refused() -> None:
    with pytest.raises(ValueError):
        LogGroupRef("prod", "/a")
    with pytest.raises(ValueError):
        LogGroupRef(SOURCE, "/a:*")
