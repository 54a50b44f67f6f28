"""The local Stripe.js shim (tools/stripe_shim.py): Stripe.js-style card payments against
localstripe, in the browser, as the web front will make them."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from playwright.sync_api import Page

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

SECRET_KEY = "sk_test_motcua"
TIMEOUT = 15
PAY_HTML = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Thanh toán lệ phí (thử)</title></head>
<body><main><h1>Thanh toán lệ phí</h1><div id="card"></div><p id="result"></p></main></body></html>
"""

# What the web front does: read GET /config, load stripe.js_url, mount a card element.
LOAD_STRIPE = """async (apiUrl) => {
  const config = await (await fetch(apiUrl + "/config")).json();
  await new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = config.stripe.js_url;
    script.onload = resolve;
    script.onerror = () => reject(new Error("cannot load " + script.src));
    document.head.appendChild(script);
  });
  window.stripe = Stripe(config.stripe.publishable_key);
  window.card = stripe.elements().create("card");
  card.mount("#card");
  return config.stripe.js_url;
}"""

CONFIRM = "secret => stripe.confirmCardPayment(secret, {payment_method: {card: window.card}})"


def create_intent(stack: dict[str, Any], amount_vnd: int = 50_000) -> dict[str, Any]:
    response = requests.post(f"{stack['stripe_api_base']}/v1/payment_intents", auth=(SECRET_KEY, ""),
                             data={"amount": amount_vnd, "currency": "vnd"}, timeout=TIMEOUT)
    response.raise_for_status()
    intent: dict[str, Any] = response.json()
    return intent


def intent_status(stack: dict[str, Any], intent_id: str) -> str:
    response = requests.get(f"{stack['stripe_api_base']}/v1/payment_intents/{intent_id}", auth=(SECRET_KEY, ""),
                            timeout=TIMEOUT)
    response.raise_for_status()
    return str(response.json()["status"])


def open_payment_page(page: Page, stack: dict[str, Any], card_number: str = "4242424242424242") -> None:
    """A test page on the web origin, with Stripe.js loaded and a card typed in.

    The page must come from the web server itself: Chromium's Local Network Access refuses a page
    fulfilled by ``page.route`` (no address space, so "public") any fetch to the loopback API.
    So: open a static file of the web server that runs no script, then replace its document."""
    page.goto("/env.js")
    page.set_content(PAY_HTML)
    js_url = page.evaluate(LOAD_STRIPE, stack["api_url"])
    assert js_url == f"{stack['web_url']}/_local/stripe.js"
    card = page.locator("#card")
    card.get_by_placeholder("number").fill(card_number)
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("30")
    card.get_by_placeholder("cvc").fill("123")
    card.get_by_placeholder("postal_code").fill("66000")


def test_a_card_payment_is_confirmed_through_the_shim(page: Page, local_stack: dict[str, Any]) -> None:
    intent = create_intent(local_stack)
    open_payment_page(page, local_stack)

    result = page.evaluate(CONFIRM, intent["client_secret"])

    assert "error" not in result or not result["error"], result
    assert result["paymentIntent"]["id"] == intent["id"]
    assert result["paymentIntent"]["status"] == "succeeded"
    assert result["paymentIntent"]["amount"] == 50_000 and result["paymentIntent"]["currency"] == "vnd"
    assert intent_status(local_stack, intent["id"]) == "succeeded"


def test_a_wrong_client_secret_is_an_error_not_a_payment(page: Page, local_stack: dict[str, Any]) -> None:
    intent = create_intent(local_stack)
    open_payment_page(page, local_stack)

    result = page.evaluate(CONFIRM, f"{intent['id']}_secret_wrongsecret0000")

    assert "paymentIntent" not in result, result
    assert "client_secret" in result["error"]["message"]
    malformed = page.evaluate(CONFIRM, "not-a-client-secret")
    assert "paymentIntent" not in malformed and malformed["error"]["message"], malformed
    assert intent_status(local_stack, intent["id"]) == "requires_payment_method"


def test_a_declined_card_is_a_card_error(page: Page, local_stack: dict[str, Any]) -> None:
    intent = create_intent(local_stack)
    open_payment_page(page, local_stack, card_number="4000000000000341")  # localstripe declines charges

    result = page.evaluate(CONFIRM, intent["client_secret"])

    assert "paymentIntent" not in result, result
    assert result["error"]["type"] == "card_error" and result["error"]["code"] == "card_declined", result
    assert intent_status(local_stack, intent["id"]) != "succeeded"


def test_a_card_that_needs_3d_secure_goes_through_localstripes_modal(page: Page,
                                                                     local_stack: dict[str, Any]) -> None:
    intent = create_intent(local_stack)
    open_payment_page(page, local_stack, card_number="4000002760003184")

    page.evaluate("secret => { window.paid = null; stripe.confirmCardPayment(secret, "
                  "{payment_method: {card: window.card}}).then(r => { window.paid = r; }); }",
                  intent["client_secret"])
    page.get_by_role("button", name="Complete authentication").click()
    page.wait_for_function("() => window.paid !== null")

    result = page.evaluate("() => window.paid")
    assert result["paymentIntent"]["status"] == "succeeded", result
    assert intent_status(local_stack, intent["id"]) == "succeeded"
