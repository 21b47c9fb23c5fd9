"""Creates, in moto (in-process or server), every table, index, stream, queue and SES identity
that template.yaml declares. Tests and `make run` both call `create_all`."""

from __future__ import annotations

import json
from typing import Any

from local import template

REGION = "us-east-1"


def local_parameters(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Template parameter defaults; resources resolve to their logical ids (the local physical names)."""
    return {**template.parameter_defaults(), **(overrides or {})}


def local_environment(function: str, parameters: dict[str, str]) -> dict[str, str]:
    return template.function_environment(function, parameters)


def create_all(session: Any, parameters: dict[str, str]) -> dict[str, str]:
    """Create everything; returns {queue logical id: queue url}. A queue's Ref is its URL: callers add
    these to `parameters` before resolving the functions' environments."""
    dynamodb = session.client("dynamodb", region_name=REGION)
    for spec in template.table_definitions().values():
        dynamodb.create_table(**spec)
    for name, attribute in template.ttl_attributes().items():
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
        )
    sesv2 = session.client("sesv2", region_name=REGION)
    for name in template.configuration_sets():
        sesv2.create_configuration_set(ConfigurationSetName=name)
    for identity in template.email_identities(parameters):
        sesv2.create_email_identity(EmailIdentity=identity)
    scheduler = session.client("scheduler", region_name=REGION)
    for group in template.schedule_groups():
        scheduler.create_schedule_group(Name=group)
    sqs = session.client("sqs", region_name=REGION)
    queues = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in template.queue_names()}
    for name, (dead_letter, receives) in template.redrive_targets().items():
        arn = sqs.get_queue_attributes(QueueUrl=queues[dead_letter], AttributeNames=["QueueArn"])
        policy = {"deadLetterTargetArn": arn["Attributes"]["QueueArn"], "maxReceiveCount": receives}
        sqs.set_queue_attributes(QueueUrl=queues[name], Attributes={"RedrivePolicy": json.dumps(policy)})
    return queues
