"""directormatch.intake.schema: plain http(s) URLs are normalised here exactly as pydantic-core's WHATWG
parser (pydantic's HttpUrl) does; the others go to that parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls
from pydantic_core import SchemaValidator, ValidationError, core_schema

from directormatch.intake.schema import ContractError, Field, HttpUrl, Obj, simple_url

WHATWG = SchemaValidator(core_schema.url_schema(max_length=2083, allowed_schemes=["http", "https"]))
URL_CHARS = st.sampled_from([*"aZ09-._~!$&'()*+,;=:@/?#%[]\\ \t{}|^`\"<>é", "%2e", "..", "xn--"])


def whatwg(value: str) -> str | None:
    try:
        return str(WHATWG.validate_python(value))
    except ValidationError:
        return None


@pytest.mark.parametrize(
    ("given_url", "stored"),
    [
        ("https://Example.COM", "https://example.com/"),
        ("HTTP://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/", "https://example.com/"),
        ("https://example.com:8443/x?q=1#top", "https://example.com:8443/x?q=1#top"),
        ("http://bluebonnet-aesthetics.example", "http://bluebonnet-aesthetics.example/"),
    ],
)
def test_simple_url_plain_urls_are_normalised_as_whatwg_does(given_url: str, stored: str) -> None:
    # Given a plain http(s) URL
    # When it is normalised here
    # Then the result is the URL standard's, as pydantic-core gives it
    assert simple_url(given_url) == stored == whatwg(given_url)


@pytest.mark.parametrize(
    "given_url",
    [
        "https://bücher.de/",
        "http://1.2.3.4/",
        "https://x.com/a/../b",
        "https://xn--bcher-kva.de",
        "ftp://x.com",
    ],
)
def test_simple_url_other_urls_are_left_to_the_parser(given_url: str) -> None:
    # Given a URL needing IDNA, IPv4 parsing, dot segments, punycode checks or another scheme
    # When it is offered to the plain path
    # Then it is declined (the WHATWG parser decides)
    assert simple_url(given_url) is None


@settings(max_examples=300, deadline=None)
@given(st.one_of(urls(), st.builds("".join, st.lists(URL_CHARS, max_size=12)).map("https://a.b/".__add__)))
def test_simple_url_any_url_it_takes_is_what_whatwg_gives(value: str) -> None:
    # Given generated URLs (and URLs with characters the standard encodes or reads specially)
    # When the plain path takes one
    plain = simple_url(value)

    # Then pydantic-core's WHATWG parser gives the same string
    if plain is not None:
        assert plain == whatwg(value)


def test_http_url_rule_reports_the_parsers_error() -> None:
    # Given an object with a website that is not an http(s) URL
    rule = Obj("Site", {"website": Field(HttpUrl())})

    # When it is validated
    with pytest.raises(ContractError) as caught:
        rule.parse({"website": "javascript:alert(1)"})

    # Then the error is pydantic's, at the field
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [(("website",), "url_scheme")]
