"""Assembles the local stack: moto server (and DynamoDB Local with DYNAMODB=local), resources from
template.yaml, roster, stream pump, queue pump, HTTP."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from local import dynamodb_local, resources, template
from local import queues as queues_module
from local.clock import Scheduler
from local.lambdas import Functions
from local.launch import free_port
from local.outbox import Outbox
from local.queues import QueuePump
from local.schedules import OneTimeSchedules
from local.streams import StreamPump

LOCAL_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_REGION": resources.REGION,
    "AWS_DEFAULT_REGION": resources.REGION,
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


class LocalStack:
    def __init__(self, port: int, state_dir: Path, roster_size: int = 600) -> None:
        self.port = port
        self.state_dir = state_dir
        self.roster_size = roster_size
        self.roster_directors = 0
        self.outbox = Outbox(state_dir / "outbox")
        self.moto_endpoint = ""
        # DynamoDB's endpoint: moto's, or DynamoDB Local's with DYNAMODB=local (local/dynamodb_local.py).
        self.dynamodb_endpoint = ""
        self.dynamodb_engine = dynamodb_local.engine()
        self._dynamodb_local: dynamodb_local.DynamoDBLocal | None = None

    def start(self) -> None:
        if self.dynamodb_engine == "local":
            # DynamoDB and its streams on AWS's DynamoDB Local; SES, SQS, SNS, SSM stay on moto.
            # First: when it cannot start (no Java), nothing else is running yet.
            self._dynamodb_local = dynamodb_local.DynamoDBLocal(
                port=int(os.environ.get("DYNAMODB_PORT") or 0) or None,
                log_path=self.state_dir / "dynamodb-local.log",
            )
            self._dynamodb_local.start()
        from moto.server import ThreadedMotoServer

        if os.environ.get("MOTO_AS_SHIPPED") != "1":
            # Transactions (accepts, matches, fairness stamps) back up only the items they touch, as
            # DynamoDB's cost does; shipped moto copies whole tables per item (local/moto_patch.py).
            from local import moto_patch

            moto_patch.apply()
        moto_port = int(os.environ.get("MOTO_PORT") or free_port())
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        self._moto.start()
        self.moto_endpoint = f"http://127.0.0.1:{moto_port}"
        base = f"http://127.0.0.1:{self.port}"
        parameters = resources.local_parameters({"SiteOrigin": base, "PublicBaseUrl": base})
        os.environ.update(LOCAL_ENVIRONMENT)
        # A fresh signing key per run: links from an earlier run's outbox stop working, as they should.
        os.environ.setdefault(
            "TOKEN_KEYS", json.dumps({"active": "local", "keys": {"local": secrets.token_urlsafe(32)}})
        )
        os.environ["AWS_ENDPOINT_URL"] = self.moto_endpoint
        for name in dynamodb_local.endpoint_variables(""):
            os.environ.pop(name, None)
        self.dynamodb_endpoint = self.moto_endpoint
        if self._dynamodb_local is not None:
            self.dynamodb_endpoint = self._dynamodb_local.endpoint
            os.environ.update(dynamodb_local.endpoint_variables(self.dynamodb_endpoint))

        import boto3

        session = boto3.Session(region_name=resources.REGION)
        queues = resources.create_all(session, parameters)
        parameters.update(queues)
        for function in template.resources("AWS::Serverless::Function"):
            # Functions share this process: their environments must agree (they do: Globals).
            os.environ.update(resources.local_environment(function, parameters))
        # The functions log at LOCAL_LOG_LEVEL here (WARNING unless asked), not the template's INFO:
        # a sweep every few seconds would otherwise fill the terminal.
        os.environ["POWERTOOLS_LOG_LEVEL"] = os.environ.get("LOCAL_LOG_LEVEL", "WARNING").upper()
        self._load_roster()
        self.functions = Functions()
        self.functions.warm()
        self.pump = StreamPump(
            session, template.stream_subscriptions(), queues, self.functions, on_tick=self.outbox.collect
        )
        self.pump.start()
        self.queue_pump = QueuePump(
            queues_module.pollers(
                session, queues, parameters, self.functions.invoke, queues_module.RETRY_SECONDS
            )
        )
        self.queue_pump.start()
        self.scheduler = Scheduler(
            self.functions,
            float(os.environ.get("SWEEP_SECONDS", "5")),
            OneTimeSchedules(session, self.functions),
        )
        self.scheduler.start()

        from local.server import LocalStackServer

        self.http = LocalStackServer(
            self.port, template.api_routes(), self.functions, self.outbox, self.scheduler
        )

    def _load_roster(self) -> None:
        from directormatch.aws import tables
        from ops.roster.synthetic import synthetic_roster

        items = synthetic_roster(self.roster_size)
        tables.directors().put_items(items)
        self.roster_directors = sum(1 for item in items if item["sk"] == "PROFILE")

    def serve_forever(self) -> None:
        self.http.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self.scheduler.stop()
        self.pump.stop()
        self.queue_pump.stop()
        self.http.server_close()
        self._moto.stop()
        if self._dynamodb_local is not None:
            self._dynamodb_local.stop()
