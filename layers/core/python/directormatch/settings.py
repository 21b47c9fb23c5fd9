"""Runtime configuration, read once from environment variables."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, Json

from directormatch.matching import Weights


class Settings(BaseModel):
    """Environment of every function; aliases are the variable names set in template.yaml."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    requests_table: str = Field(default="Requests", alias="REQUESTS_TABLE")
    directors_table: str = Field(default="Directors", alias="DIRECTORS_TABLE")
    directors_by_state_index: str = Field(default="ByState", alias="DIRECTORS_BY_STATE_INDEX")
    site_origin: str = Field(default="http://127.0.0.1:3000", alias="SITE_ORIGIN")
    public_base_url: str = Field(default="http://127.0.0.1:3000", alias="PUBLIC_BASE_URL")
    sender_email: str = Field(default="matches@directormatch.example", alias="SENDER_EMAIL")
    ses_configuration_set: str = Field(default="", alias="SES_CONFIGURATION_SET")
    wave_size: int = Field(default=3, ge=1, le=20, alias="OFFER_WAVE_SIZE")
    offer_hours: int = Field(default=4, ge=1, le=72, alias="OFFER_HOURS")
    max_waves: int = Field(default=3, ge=1, le=10, alias="MAX_WAVES")
    max_body_bytes: int = Field(default=32 * 1024, alias="MAX_BODY_BYTES")
    idempotency_hours: int = Field(default=24, alias="IDEMPOTENCY_HOURS")
    email_lease_seconds: int = Field(default=120, alias="EMAIL_LEASE_SECONDS")
    ops_email: str = Field(default="ops@directormatch.example", alias="OPS_EMAIL")
    # Replies to offers arrive at offer-<request>-<director>@INBOUND_DOMAIN; empty turns replies off.
    inbound_domain: str = Field(default="", alias="INBOUND_DOMAIN")
    # Score weights as JSON, e.g. {"fairness": 5}; unnamed weights keep their defaults.
    match_weights: Json[dict[str, float]] = Field(default={}, alias="MATCH_WEIGHTS")

    @property
    def weights(self) -> Weights:
        return Weights(**self.match_weights)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))
