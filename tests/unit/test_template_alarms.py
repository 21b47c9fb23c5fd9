"""The alarms a production stack needs, checked on the transformed template so that a new stream
consumer, table or index without its alarm fails here: stream lag, API errors and latency, SES
complaints beside bounces, DynamoDB throttles, and every alarm reaching ops."""

from __future__ import annotations

from typing import Any

import pytest

from checks.transform import transformed


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    found: dict[str, Any] = transformed()["Resources"]
    return found


def alarms(resources: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]


def metrics_of(alarm: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(metric name, {dimension: value}) for a plain alarm or each metric of a metric-math alarm."""
    if "MetricName" in alarm:
        return [(alarm["MetricName"], {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])})]
    stats = [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m]
    return [(m["MetricName"], {d["Name"]: d["Value"] for d in m.get("Dimensions", [])}) for m in stats]


def watched(resources: dict[str, Any], metric: str) -> list[dict[str, Any]]:
    return [dims for alarm in alarms(resources) for name, dims in metrics_of(alarm) if name == metric]


def stream_mappings(resources: dict[str, Any]) -> list[dict[str, Any]]:
    """The event source mappings that read a stream (SQS ones have no starting position)."""
    return [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping" and "StartingPosition" in r["Properties"]
    ]


def test_alarms_every_stream_consumer_has_an_iterator_age_alarm(resources: dict[str, Any]) -> None:
    consumers = {m["FunctionName"]["Ref"] for m in stream_mappings(resources)}
    assert consumers == {"MatchFunction", "NotifyFunction"}
    assert {d["FunctionName"]["Ref"] for d in watched(resources, "IteratorAge")} == consumers


def test_alarms_every_function_has_errors_and_throttles_alarms(resources: dict[str, Any]) -> None:
    functions = {name for name, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    for metric in ("Errors", "Throttles"):
        assert {d["FunctionName"]["Ref"] for d in watched(resources, metric)} == functions


def test_alarms_api_errors_and_p99_latency_watch_the_deployed_api(resources: dict[str, Any]) -> None:
    [api] = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    [stage] = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::Stage"]
    expected = {"ApiName": api["Name"], "Stage": stage["StageName"]}
    assert watched(resources, "5XXError") == [expected]
    assert watched(resources, "Latency") == [expected]
    [latency] = [a for a in alarms(resources) if a.get("MetricName") == "Latency"]
    assert latency["ExtendedStatistic"] == "p99"


def test_alarms_ses_complaint_rate_fires_well_before_ses_pauses_sending(resources: dict[str, Any]) -> None:
    [complaints] = [a for a in alarms(resources) if a.get("MetricName") == "Reputation.ComplaintRate"]
    assert complaints["Namespace"] == "AWS/SES"
    assert float(complaints["Threshold"]) <= 0.001  # SES may pause near 0.005 (0.5%)
    assert any(m.get("Id") == "bounced" for a in alarms(resources) for m in a.get("Metrics", []))


def test_alarms_every_table_and_index_has_its_throttles_watched(resources: dict[str, Any]) -> None:
    read = watched(resources, "ReadThrottleEvents")
    write = watched(resources, "WriteThrottleEvents")
    for name, resource in resources.items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        table = {"TableName": {"Ref": name}}
        assert table in read
        assert table in write
        for index in resource["Properties"].get("GlobalSecondaryIndexes", []):
            assert {**table, "GlobalSecondaryIndexName": index["IndexName"]} in read


def test_alarms_all_reach_ops(resources: dict[str, Any]) -> None:
    for alarm in alarms(resources):
        assert alarm["AlarmActions"] == [{"Ref": "OpsAlertsTopic"}], alarm["AlarmDescription"]


def test_alarms_a_batch_lambda_gives_up_on_reaches_the_alarmed_queue_and_the_failures_function(
    resources: dict[str, Any],
) -> None:
    # Every stream subscription's on-failure destination is the one topic
    destinations = [m["DestinationConfig"]["OnFailure"]["Destination"] for m in stream_mappings(resources)]
    assert destinations == [{"Ref": "StreamFailureTopic"}] * 2
    subscriptions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SNS::Subscription"]
    to_topic = [s for s in subscriptions if s["TopicArn"] == {"Ref": "StreamFailureTopic"}]
    # which puts Lambda's message itself (what ops.replay reads) in the queue whose depth pages ops
    [queue] = [s for s in to_topic if s["Protocol"] == "sqs"]
    assert queue["Endpoint"] == {"Fn::GetAtt": ["StreamFailureQueue", "Arn"]}
    assert queue["RawMessageDelivery"] is True
    assert {"QueueName": {"Fn::GetAtt": ["StreamFailureQueue", "QueueName"]}} in watched(
        resources, "ApproximateNumberOfMessagesVisible"
    )
    [policy] = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
    [grant] = policy["PolicyDocument"]["Statement"]
    assert grant["Principal"] == {"Service": "sns.amazonaws.com"}
    assert grant["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": "StreamFailureTopic"}}}
    # and invokes the failures function, which writes the alert per failed record
    [function] = [s for s in to_topic if s["Protocol"] == "lambda"]
    assert function["Endpoint"] == {"Fn::GetAtt": ["FailuresFunction", "Arn"]}


def test_alarms_send_queue_pages_ops_on_age_depth_and_every_message_given_up(
    resources: dict[str, Any],
) -> None:
    queue = {"QueueName": {"Fn::GetAtt": ["SendQueue", "QueueName"]}}
    assert queue in watched(resources, "ApproximateAgeOfOldestMessage")
    assert queue in watched(resources, "ApproximateNumberOfMessagesVisible")
    redrive = resources["SendQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["SendDeadLetterQueue", "Arn"]}
    [dead_letter] = [
        a
        for a in alarms(resources)
        if {"QueueName": {"Fn::GetAtt": ["SendDeadLetterQueue", "QueueName"]}}
        in [d for _, d in metrics_of(a)]
    ]
    assert (dead_letter["Threshold"], dead_letter["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    # A message is hidden while a sender works on it: longer than the sender may run.
    assert (
        resources["SendQueue"]["Properties"]["VisibilityTimeout"]
        >= resources["SenderFunction"]["Properties"]["Timeout"]
    )
    # The sender knows which receive is the last (it raises the request's alert then)
    sender = resources["SenderFunction"]["Properties"]["Environment"]["Variables"]
    assert int(sender["SEND_MAX_RECEIVES"]) == int(redrive["maxReceiveCount"])
