"""The DynamoDB engines: moto, or AWS's DynamoDB Local (DYNAMODB=local), and what differed between them.

`make test` runs the integration, end-to-end and reliability suites on both (README, Development).
Each difference found was a fault in our code, fixed there; the tests below hold the fix on both
engines (README, "Two DynamoDB engines", lists them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest

from directormatch.aws import clients
from directormatch.aws.attributes import from_attributes
from local.lambdas import LambdaContext
from tests.conftest import REGION
from tests.events import api_event, quote_body, stream_event, stream_record
from tests.integration.conftest import Apps, Aws, LoadDirectors, on_dynamodb_local
from tests.integration.test_intake_form import FORM, form_fields
from tests.reliability.helpers import post_quote, sent, stream_reader

LONE = "\ud800"  # a lone UTF-16 surrogate: JSON "\\ud800" decodes to it; it has no UTF-8 form


def test_dynamodb_calls_reach_the_chosen_engine_and_other_services_stay_on_moto(aws: Aws) -> None:
    # Given the account the fixture built from template.yaml
    dynamodb = clients.dynamodb()

    # When the functions' clients are asked where they send their calls
    endpoint = dynamodb.meta.endpoint_url
    streams = clients.client("dynamodbstreams").meta.endpoint_url
    ses = clients.sesv2().meta.endpoint_url

    # Then DynamoDB and its streams go to DynamoDB Local on the loopback with DYNAMODB=local, to moto
    # (AWS's own host names, intercepted in process) otherwise; SES is moto's either way
    if on_dynamodb_local():
        assert endpoint.startswith("http://127.0.0.1:")
        assert streams == endpoint
        assert sorted(dynamodb.list_tables()["TableNames"]) == [
            "AvailabilityTable",
            "DirectorsTable",
            "RequestsTable",
        ]
        arn = dynamodb.describe_table(TableName="RequestsTable")["Table"]["LatestStreamArn"]
        assert ":ddblocal:" in arn  # DynamoDB Local's own region name in its ARNs
    else:
        assert endpoint == "https://dynamodb.us-east-1.amazonaws.com"
    assert ses == "https://email.us-east-1.amazonaws.com"


def raw_stream_records(aws: Aws) -> list[dict[str, Any]]:
    """Every record of the Requests table's stream, unfiltered, as GetRecords returns them (what
    `python -m ops.replay` reads back)."""
    streams = aws.session.client("dynamodbstreams", region_name=REGION)
    arn = aws.dynamodb.describe_table(TableName=aws.requests_table)["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records.extend(streams.get_records(ShardIterator=iterator, Limit=1000)["Records"])
    return records


def test_every_image_on_the_requests_stream_decodes_after_a_match_that_excluded_no_one(
    aws: Aws,
    load_directors: LoadDirectors,
    apps: Apps,
) -> None:
    # Divergence: DynamoDB Local's stream writes an empty map as {} (not {"M": {}}), which no decoder
    # reads: the MATCH item's `excluded` ({} when every candidate qualified) failed notify there when
    # replay handed it the batch unfiltered. Items no longer hold empty maps (store.to_attributes).
    # Given three directors who all qualify, and a request matched from its stream record
    load_directors(3)
    to_match = stream_reader(aws, "MatchFunction")
    request_id = post_quote(apps.intake, apps.context)
    assert apps.match.lambda_handler({"Records": to_match()}, apps.context) == {"batchItemFailures": []}
    [match] = aws.items_with_sk("MATCH")
    assert match["eligible"] == 3
    assert "excluded" not in match  # nobody excluded: no empty map stored

    # When every record of the stream is decoded, as the functions and replay decode them
    records = raw_stream_records(aws)
    images = [
        from_attributes(record["dynamodb"][side])
        for record in records
        for side in ("NewImage", "OldImage")
        if side in record["dynamodb"]
    ]

    # Then all decode, and notify handles the whole stream unfiltered (as replay delivers it) without
    # a failure: the receipt and three offers, once each
    assert {image["sk"] for image in images} >= {"REQUEST", "MATCH"}
    aws.use_function("NotifyFunction")
    shaped = [json.loads(json.dumps(r, default=lambda value: int(value.timestamp()))) for r in records]
    for start in range(0, len(shaped), 10):
        batch = {"Records": shaped[start : start + 10]}
        assert apps.notify.lambda_handler(batch, apps.context) == {"batchItemFailures": []}
    assert sorted(m.kind for m in sent(aws)) == ["offer", "offer", "offer", "receipt"]
    assert all(
        m.message_id.endswith(f"{request_id}@directormatch>") or "offer." in m.message_id for m in sent(aws)
    )


def test_no_match_alert_with_nothing_excluded_reaches_ops_through_the_stream(
    aws: Aws,
    apps: Apps,
    notify_stream: Callable[[], list[dict[str, Any]]],
) -> None:
    # Divergence: on DynamoDB Local the NO_MATCH alert of a request nobody can take (no director in
    # its state, so nothing excluded) reached notify with `excluded` as {}: notify failed it on every
    # retry and ops never heard. moto's stream wrote {"M": {}}.
    # Given a request for a state where the roster has no one, matched from its stream record
    posted = apps.intake.lambda_handler(api_event(body=quote_body()), apps.context)
    assert posted["statusCode"] == 201, posted["body"]
    request_id = json.loads(posted["body"])["request_id"]
    request = aws.request_store().get_request(request_id)
    assert request is not None
    assert apps.match.lambda_handler(stream_event(stream_record(request)), apps.context) == {
        "batchItemFailures": []
    }
    [alert] = aws.items_with_sk("ALERT#NO_MATCH")
    assert alert["candidates"] == 0

    # When notify receives the stream's records as its event source mapping passes them
    aws.use_function("NotifyFunction")
    records = notify_stream()
    response = apps.notify.lambda_handler({"Records": records}, apps.context)

    # Then nothing failed, and ops got the no-match alert (and the clinic its receipt, then the news)
    assert response == {"batchItemFailures": []}
    kinds = sorted(m.kind for m in sent(aws))
    assert kinds == ["no_match", "ops_no_match", "receipt"]


def test_intake_refuses_a_lone_surrogate_in_a_text_field_and_stores_nothing(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Divergence: a clinic name holding a lone surrogate was a 500 on moto (it cannot encode it) while
    # DynamoDB Local stored it, and notify then failed the receipt on every retry. Intake refuses it.
    # Given a quote whose clinic name arrives as the JSON escape "\ud800"
    body = json.dumps(quote_body(clinic={"name": f"Maria {LONE} D"}))
    assert "\\ud800" in body

    # When it is posted
    response = intake_app.lambda_handler(api_event(body=body), lambda_context)

    # Then 422 names the field, and nothing is stored
    assert response["statusCode"] == 422, response["body"]
    [error] = json.loads(response["body"])["errors"]
    assert error["field"] == "clinic.name"
    assert aws.items() == []


def test_form_post_with_an_encoded_surrogate_stores_a_replacement_character_instead(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given the no-JavaScript form with a clinic name holding U+D800 as bytes (ED A0 80, not UTF-8):
    # the only way a form post can carry one (a browser sends U+FFFD for a lone surrogate)
    pairs = [(k, v) for k, v in form_fields() if k != "clinic_name"]
    body = urlencode(pairs) + "&clinic_name=Maria+%ED%A0%80+D"
    event = api_event(body=body, headers={"Content-Type": FORM}, without_headers=("Idempotency-Key",))

    # When it is posted
    response = intake_app.lambda_handler(event, lambda_context)

    # Then the form is decoded as browsers decode it (each bad byte a U+FFFD): stored, no surrogate
    assert response["statusCode"] == 201, response["body"][:300]
    [request] = aws.items_with_sk("REQUEST")
    assert request["clinic"]["name"] == "Maria \ufffd\ufffd\ufffd D"


def test_a_lone_surrogate_already_in_an_item_never_stops_the_receipt(
    aws: Aws, notify_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a REQUEST item whose names hold lone surrogates (stored before intake refused them, or by
    # another path: DynamoDB Local stores them; moto cannot, so only that engine has this case), as
    # its stream record reaches notify
    if not on_dynamodb_local():
        pytest.skip("moto cannot store a lone surrogate: DYNAMODB=local runs this case")
    aws.use_function("NotifyFunction")
    request = quote_body(clinic={"name": f"Maria {LONE} D"})
    item = {
        **request,
        "pk": "01JSURR0GATE000000000000ZZ",
        "sk": "REQUEST",
        "request_id": "01JSURR0GATE000000000000ZZ",
        "request_status": "NEW",
        "created_at": "2026-01-05T10:00:00.000+00:00",
        "contact": {**request["contact"], "name": "Pat \udfff Lee"},
    }

    # When notify handles it
    response = notify_app.lambda_handler(aws.stored(stream_event(stream_record(item))), lambda_context)

    # Then the receipt goes out, the lone surrogates shown as U+FFFD in its body and headers
    assert response == {"batchItemFailures": []}
    [receipt] = sent(aws)
    assert receipt.kind == "receipt"
    text = receipt.raw.decode("utf-8")
    assert LONE not in text
    from email import message_from_bytes, policy

    message = message_from_bytes(receipt.raw, policy=policy.default)
    bodies = [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
    assert len(bodies) == 2
    assert all("Maria \ufffd D" in body and "Pat \ufffd Lee" in body for body in bodies)
