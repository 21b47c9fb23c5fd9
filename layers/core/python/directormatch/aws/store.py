"""Former home of both tables' stores; the names intake and respond import until they move to
directormatch.aws.tables (the factory), requests_table and directors_table."""

from directormatch.aws.attributes import from_attributes, to_attributes
from directormatch.aws.directors_table import DirectorStore, candidate_from_item
from directormatch.aws.requests_table import Created, RequestStore

__all__ = [
    "Created",
    "DirectorStore",
    "RequestStore",
    "candidate_from_item",
    "from_attributes",
    "to_attributes",
]
