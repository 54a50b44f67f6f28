"""The webhook URL guard: https, public addresses only (resolver replaced: no network)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest

from chalicelib.domain.webhook_urls import WebhookUrlError, address_problem, check_webhook_url


def resolver(answers: dict[str, list[str]]):
    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in answers:
            raise OSError("Name or service not known")
        return answers[host]
    return resolve


PUBLIC = resolver({"agency.example.vn": ["203.113.131.1", "2001:ee0:100::1"]})


def test_a_public_https_url_is_accepted() -> None:
    assert check_webhook_url("https://agency.example.vn/hooks?x=1", resolver=PUBLIC) == \
        "https://agency.example.vn/hooks?x=1"
    assert check_webhook_url("https://203.113.131.1:8443/hooks", resolver=PUBLIC)


@pytest.mark.parametrize(("url", "message"), [
    ("http://agency.example.vn/hooks", "must start with https://"),
    ("ftp://agency.example.vn/", "must start with https://"),
    ("https://user:pw@agency.example.vn/", "no user name or password"),
    ("https://agency.example.vn/#x", "no #fragment"),
    ("https:///hooks", "names a host"),
    ("https://agency.example.vn/a b", "no spaces"),
    ("https://unknown.example.vn/", "cannot resolve unknown.example.vn"),
    ("https://localhost/hooks", "localhost may receive webhooks only on the local stack"),
    ("https://127.0.0.1/hooks", "127.0.0.1 is a loopback address"),
    ("https://[::1]/hooks", "::1 is a loopback address"),
    ("https://10.1.2.3/", "private"),
    ("https://172.16.0.1/", "private"),
    ("https://192.168.1.10/", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[fe80::1]/", "link-local"),
    ("https://[fd12:3456::1]/", "private"),  # IPv6 unique local (fc00::/7)
    ("https://100.64.0.1/", "not a public address"),  # shared address space (CGNAT)
    ("https://240.0.0.1/", "reserved"),
    ("https://0.0.0.0/", "unspecified"),
    ("https://224.0.0.1/", "multicast"),
    ("https://[::ffff:10.0.0.1]/", "10.0.0.1 is a private address (inside ::ffff:a00:1)"),
    ("https://[64:ff9b::7f00:1]/", "127.0.0.1 is a loopback address"),
])
def test_refused(url: str, message: str) -> None:
    with pytest.raises(WebhookUrlError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_webhook_url(url, resolver=PUBLIC)


def test_a_host_name_resolving_to_any_private_address_is_refused() -> None:
    sneaky = resolver({"rebind.example.com": ["203.113.131.1", "10.0.0.5"],
                       "metadata.example.com": ["169.254.169.254"],
                       "v6.example.com": ["fd00::5"]})
    with pytest.raises(WebhookUrlError, match=r"rebind.example.com resolves to 10.0.0.5, which is a private"):
        check_webhook_url("https://rebind.example.com/", resolver=sneaky)
    with pytest.raises(WebhookUrlError, match="link-local"):
        check_webhook_url("https://metadata.example.com/", resolver=sneaky)
    with pytest.raises(WebhookUrlError, match="private"):
        check_webhook_url("https://v6.example.com/", resolver=sneaky)


def test_numeric_host_spellings_are_checked_on_what_they_resolve_to() -> None:
    # getaddrinfo reads "2130706433" and "0x7f.1" as 127.0.0.1
    numeric = resolver({"2130706433": ["127.0.0.1"], "0x7f.1": ["127.0.0.1"]})
    for url in ("https://2130706433/", "https://0x7f.1/"):
        with pytest.raises(WebhookUrlError, match="loopback"):
            check_webhook_url(url, resolver=numeric)


def test_the_local_stack_allows_http_and_loopback_only() -> None:
    local = resolver({"localhost": ["127.0.0.1", "::1"]})
    assert check_webhook_url("http://127.0.0.1:41234/webhooks", allow_local=True, resolver=local)
    assert check_webhook_url("http://localhost:8000/webhooks", allow_local=True, resolver=local)
    with pytest.raises(WebhookUrlError, match="private"):
        check_webhook_url("http://192.168.1.10/", allow_local=True, resolver=local)
    with pytest.raises(WebhookUrlError, match="https://"):
        check_webhook_url("http://127.0.0.1:41234/webhooks", resolver=local)


def test_address_problem_accepts_public_addresses() -> None:
    assert address_problem(ipaddress.ip_address("8.8.8.8")) is None
    assert address_problem(ipaddress.ip_address("2001:4860:4860::8888")) is None
