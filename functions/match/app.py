"""Stream consumer: each new REQUEST item gets a shortlist and a first wave of offers."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from directormatch import keys
from directormatch.aws import tables
from directormatch.aws.schedules import SweepSchedules
from directormatch.aws.streams import stream_handler
from directormatch.matching.waves import match_request
from directormatch.observability import MetricName, logger, metrics, seconds_since
from directormatch.records import Request
from directormatch.settings import get_settings


def record_handler(record: DynamoDBRecord) -> None:
    if record.raw_event.get("eventName") != "INSERT":
        return
    image = (record.raw_event.get("dynamodb") or {}).get("NewImage")
    if not image:
        return
    if image.get("sk") != {"S": keys.REQUEST_SK}:
        return
    request = Request.from_attributes(image)
    # The id of the API request that created it, carried through every item and email of the request.
    logger.set_correlation_id(request.correlation_id)
    settings = get_settings()
    result, recorded = match_request(
        request,
        tables.requests(),
        tables.directors(),
        wave_size=settings.wave_size,
        offer_hours=settings.offer_hours,
        weights=settings.weights,
        schedules=SweepSchedules.from_settings(settings),
    )
    log = {"request_id": request.request_id, "candidates": result.candidates, "offers": len(result.picks)}
    if not recorded:
        metrics.add_metric(name=MetricName.DUPLICATE_SKIPPED, unit="Count", value=1)
        logger.info("match already recorded", extra=log)
        return
    if result.picks:
        metrics.add_metric(name=MetricName.OFFERS_CREATED, unit="Count", value=len(result.picks))
        metrics.add_metric(
            name=MetricName.TIME_TO_FIRST_OFFER, unit="Seconds", value=seconds_since(request.created_at)
        )
    else:
        metrics.add_metric(name=MetricName.NO_MATCH, unit="Count", value=1)
    logger.info(
        "match recorded",
        extra={
            **log,
            "team": result.team,
            "excluded": result.excluded,
            "strict_cpom": result.strict_cpom_states,
        },
    )


lambda_handler = stream_handler("match", record_handler)
