"""The stored items as typed records, with the one mapping to and from their DynamoDB attributes.

Requests table: REQUEST, MATCH, OFFER#<director>, ALERT#<kind>, EMAIL#<kind>#<recipient>.
Directors table: PROFILE, LICENSE#<state>, DEA#<state>.

Frozen dataclasses, not pydantic: the stream functions read every record, and their cold start
stays near boto3's. Equality, hashing and repr are written once on `Record` rather than generated
for each record class: dataclass compiles every method it generates, at every cold start. For the
same reason the annotations are evaluated as the module runs (no `from __future__ import
annotations`): dataclass would match each string against its ClassVar and InitVar patterns.

A record reads every attribute it names and ignores any other, so items written before a field
existed, or with one a record does not use, still read. Writing gives the item the attribute names
it always had (None values and empty maps are left out when encoded).
"""

from collections.abc import Iterator, Mapping
from dataclasses import Field, dataclass, field, fields
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Self, get_args, get_type_hints

from directormatch import keys
from directormatch.vocabulary import AlertKind, EmailStatus, OfferStatus, RequestStatus


class Record(Mapping[str, Any]):
    """What every record shares: reading from and writing to a plain item, field by field."""

    if TYPE_CHECKING:  # every record is a dataclass; this base, with no fields, is not
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Self:
        """The record of a plain item (as `aws.attributes.from_attributes` gives it)."""
        values: dict[str, Any] = {}
        nested = _nested_records(cls)
        for f in fields(cls):
            if f.name in item:
                kind, value = nested.get(f.name), item[f.name]
                values[f.name] = kind.from_item(value) if kind and value is not None else value
        return cls(**values)

    @classmethod
    def from_attributes(cls, image: Mapping[str, Any]) -> Self:
        """The record of a DynamoDB item or stream image."""
        from directormatch.aws.attributes import from_attributes

        return cls.from_item(from_attributes(image))

    def to_item(self) -> dict[str, Any]:
        """The plain item, attribute names as stored; unset attributes left out."""
        return {name: v.to_item() if isinstance(v := getattr(self, name), Record) else v for name in self}

    # A record also reads as the item it stands for (record["name"], record.get("name"), **record,
    # dict(record)): code that still reads items as mappings (the email builders, the pages, tests)
    # reads records unchanged. Unset attributes (None, an empty set) are absent, as in the table.
    def __getitem__(self, name: str) -> Any:
        if name not in self._names() or not _present(value := getattr(self, name)):
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return (f.name for f in fields(self) if _present(getattr(self, f.name)))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    @classmethod
    def _names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))

    # What dataclass(eq=True, frozen=True) would generate: equal to a record of the same class with
    # equal fields, hashed on the fields, shown field by field.
    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self is other or self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return f"{type(self).__qualname__}({shown})"


@cache
def _nested_records(cls: type[Record]) -> Mapping[str, type[Record]]:
    """The fields typed as a record (`summary: Needs`, `quote: Quote | None`): stored as nested maps."""
    nested: dict[str, type[Record]] = {}
    for name, hint in get_type_hints(cls).items():
        for kind in (hint, *get_args(hint)):
            if isinstance(kind, type) and issubclass(kind, Record):
                nested[name] = kind
    return nested


def _present(value: Any) -> bool:
    """Whether an attribute is stored: None is not, nor an empty set (DynamoDB holds none)."""
    return value is not None and value != set()


@dataclass(frozen=True, eq=False, repr=False)
class Item(Record):
    """A whole stored item: its keys, then its attributes."""

    pk: str
    sk: str


# --- Requests table ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Clinic(Record):
    name: str
    website: str | None = None


@dataclass(frozen=True, eq=False, repr=False)
class Contact(Record):
    name: str
    email: str
    phone: str


@dataclass(frozen=True, eq=False, repr=False)
class Supervisees(Record):
    np: int = 0
    pa: int = 0


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class Needs(Record):
    """The clinic's needs, which an offer shows a director (never the clinic's identity or contact;
    the notes are the clinic's own words to the director)."""

    states: list[str]
    modalities: list[str]
    supervisees: Supervisees
    locations: int
    controlled_substances: bool
    start_by: str
    malpractice: str = "no_preference"
    notes: str | None = None

    def needs(self) -> "Needs":
        """Just the needs (an offer's summary), from a request or a summary."""
        return Needs(**{f.name: getattr(self, f.name) for f in fields(Needs)})


@dataclass(frozen=True, eq=False, repr=False)
class Request(Item, Needs):
    """The REQUEST item: the clinic's quote request and where it stands."""

    request_id: str
    request_status: RequestStatus
    created_at: str
    clinic: Clinic
    contact: Contact
    consent: bool = True
    correlation_id: str | None = None
    reference: str | None = None  # the code the clinic quotes (references.py); none before codes existed
    wave: int | None = None
    wave_expires_at: str | None = None  # when the current wave's offers expire
    updated_at: str | None = None
    matched_at: str | None = None
    matched_director_id: str | None = None
    # A team request's states and directors accepted so far (string sets).
    accepted_states: set[str] = field(default_factory=set)
    accepted_directors: set[str] = field(default_factory=set)
    # The most the clinic will pay a month, in whole dollars; directors above it are not offered.
    budget_monthly: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "request_status", RequestStatus(self.request_status))

    @property
    def current_wave(self) -> int:
        """The wave of offers out now (a NEW request has none yet: 1 is the first)."""
        return self.wave or 1


@dataclass(frozen=True, eq=False, repr=False)
class Offer(Item):
    """An OFFER#<director> item: one director's offer of one request, and its answer."""

    request_id: str
    director_id: str
    offer_status: OfferStatus
    wave: int
    created_at: str
    expires_at: str
    summary: Needs
    score: float = 0.0
    score_components: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    covers_states: list[str] = field(default_factory=list)
    team: bool = False
    correlation_id: str | None = None
    reference: str | None = None  # the request's code, which the director's emails quote
    answered_at: str | None = None
    answered_via: str | None = None
    closed_at: str | None = None
    # The director's monthly fee for this request (their states only), and its lines
    # ({"label", "amount"} maps); absent for a director without a fee schedule.
    fee_monthly: int | None = None
    fee_lines: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "offer_status", OfferStatus(self.offer_status))


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class Quote(Record):
    """What the clinic is quoted, in whole dollars a month.

    low/high: over the directors offered (a team counts as one option, its members' fees summed);
    median and eligible: over the eligible directors priced for the whole request; lowest_available:
    the lowest fee above the clinic's budget when the budget left no one to offer.
    """

    low: int | None = None
    high: int | None = None
    median: int | None = None
    eligible: int = 0
    budget_monthly: int | None = None
    lowest_available: int | None = None


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class Match(Item):
    """The MATCH item: how the first shortlist came about (counts and ids, for ops and the bench).

    After when and how many items it read, the fields follow the `Shortlist` they record."""

    created_at: str
    items_read: int
    shortlist: list[dict[str, Any]]
    candidates: int
    excluded: dict[str, int] = field(default_factory=dict)
    team: bool
    eligible: int
    strict_cpom_states: list[str] = field(default_factory=list)
    states_without_rule: list[str] = field(default_factory=list)
    uncovered_states: list[str] = field(default_factory=list)
    quote: Quote | None = None


@dataclass(frozen=True, eq=False, repr=False)
class Alert(Item):
    """An ALERT#<kind> item: a request ops must look at (raised once per kind; a STREAM_FAILED alert
    once per failed record, ALERT#STREAM_FAILED#<function>#<sequence number>)."""

    request_id: str
    alert: AlertKind
    created_at: str
    candidates: int | None = None
    excluded: dict[str, int] | None = None
    uncovered_states: list[str] | None = None
    # NO_MATCH because of the clinic's budget: the lowest monthly fee above it (Quote.lowest_available).
    lowest_available: int | None = None
    reason: str | None = None
    request_created_at: str | None = None
    wave: int | None = None
    correlation_id: str | None = None
    # STREAM_FAILED: which record of which function, the error's type, the request's status then
    # (not `request_status`: that is a REQUEST's own, which the status index lists), and
    # when a replay put the record through.
    function: str | None = None
    item_sk: str | None = None
    sequence_number: str | None = None
    error: str | None = None
    status_at_failure: str | None = None
    resolved_at: str | None = None

    @classmethod
    def of(cls, request_id: str, kind: AlertKind, created_at: str, **details: Any) -> "Alert":
        return cls(request_id, keys.ALERT(kind), request_id, kind, created_at, **details)


@dataclass(frozen=True, eq=False, repr=False)
class EmailMarker(Item):
    """An EMAIL#<kind>#<recipient> item: the claim on one email, then the proof it went out."""

    email_status: EmailStatus
    # Times are epoch seconds. queued_at: its message entered the send queue. lease_until: how long
    # the invocation sending it holds its claim (a claim past it was left by a sender that died).
    queued_at: int | None = None
    lease_until: int | None = None
    # SES's id of the message, and when SES took it (or when the address was found suppressed).
    message_id: str | None = None
    sent_at: int | None = None


# --- Directors table -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class FeeSchedule(Record):
    """A director's monthly fees in whole US dollars (matching.fees prices a request from them)."""

    base: int  # one state, one location, no supervisees
    per_np: int = 0
    per_pa: int = 0
    per_additional_state: int = 0
    per_additional_location: int = 0
    controlled_premium: int = 0  # when the clinic's services involve controlled substances
    # Chart review the director does as standard: the share of charts (percent) and its monthly fee.
    chart_review_percent: int | None = None
    chart_review_fee: int | None = None


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class DirectorFilters(Record):
    """What the matcher filters and scores on: on the PROFILE and copied onto every LICENSE item."""

    modalities: list[str] = field(default_factory=list)
    modality_years: dict[str, int] = field(default_factory=dict)
    specialties: list[str] = field(default_factory=list)
    max_clinics: int = 0
    active_clinics: int = 0
    active: bool = False
    paused: bool = False
    # When a pause ends (ISO time, UTC); none while paused means until the director resumes.
    paused_until: str | None = None
    excluded: bool = False
    malpractice_per_claim: int = 0
    malpractice_aggregate: int = 0
    response_rate: float | None = None
    median_response_hours: float | None = None
    licensed_states: list[str] = field(default_factory=list)
    last_offered_at: str | None = None
    fees: FeeSchedule | None = None

    def paused_at(self, now: datetime) -> bool:
        """Paused indefinitely, or until a moment still to come (offers resume at `paused_until`)."""
        if not self.paused:
            return False
        return self.paused_until is None or now < datetime.fromisoformat(self.paused_until)


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class Profile(DirectorFilters):
    """The PROFILE item: who the director is and how to reach them."""

    pk: str
    sk: str = keys.PROFILE_SK
    director_id: str
    first_name: str
    last_name: str
    email: str
    phone: str | None = None  # E.164, as the clinic's contact phone
    npi: str | None = None
    dea_states: list[str] = field(default_factory=list)
    # Bumped by every self-service change (and roster import): a form shown from an older version
    # changes nothing. None until the first.
    version: int | None = None
    # The fields the director set on the manage page, each with when: a roster import keeps them.
    self_service: dict[str, str] = field(default_factory=dict)

    @property
    def current_version(self) -> int:
        return self.version or 0


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class License(DirectorFilters):
    """A LICENSE#<state> item: one state license, with the director's filters (the ByState index)."""

    pk: str
    sk: str
    license_state: str
    license_status: str
    license_expires_on: str
    license_number: str | None = None
    expiry_month: str | None = None
    expires_on: str | None = None
    dea_expires_on: str | None = None
    supervising_np: int = 0
    supervising_pa: int = 0

    @property
    def director_id(self) -> str:
        return self.pk


@dataclass(frozen=True, eq=False, repr=False)
class Expiry(Item):
    """A ByExpiryMonth index entry: a LICENSE or DEA item's keys and the day it lapses."""

    expiry_month: str
    expires_on: str
    license_state: str | None = None
    dea_state: str | None = None
    license_status: str | None = None

    @property
    def director_id(self) -> str:
        return self.pk

    @property
    def registration(self) -> str:
        """'TX license' or 'TX DEA registration'."""
        kind, _, state = self.sk.partition("#")
        return f"{state} {'license' if kind == keys.LICENSE.kind else 'DEA registration'}"


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class Dea(Expiry):
    """A DEA#<state> item: one DEA registration, on the ByExpiryMonth index."""

    dea_state: str
    dea_number: str
    dea_expires_on: str
