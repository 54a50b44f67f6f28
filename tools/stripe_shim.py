"""Local only: a Stripe.js for the browser that can confirm card payments against localstripe.

Why: localstripe's fake Stripe.js (``/js.stripe.com/v3/``) renders a fake card element, but its
``confirmCardPayment`` ignores the card and only calls ``/_authenticate``, which fails unless the
PaymentIntent already waits for 3-D Secure; and with a publishable key a browser cannot attach
a payment method to a PaymentIntent in localstripe (its auth middleware accepts ``pk_`` keys on
a few endpoints only). Real Stripe does this on its servers for a publishable-key confirm.

So the local web server serves:

- ``GET /_local/stripe.js``: localstripe's script (run inside a function, with its API base
  fixed, so its ``Element`` class does not shadow the DOM's) followed by a wrapper that replaces
  ``stripe.confirmCardPayment(clientSecret, {payment_method: {card}})``: it POSTs
  ``{client_secret, card}`` (or ``{client_secret, payment_method: "pm_…"}``) to
- ``POST /_local/stripe/confirm``: :func:`confirm_card_payment`, which with the local secret key
  does what Stripe's servers do: checks the client secret against the intent, creates the card
  PaymentMethod, sets it on the intent and confirms it. The wrapper resolves to
  ``{paymentIntent}`` or ``{error: {type, code, message}}`` like Stripe.js; an intent that needs
  3-D Secure goes through localstripe's own modal and ``/_authenticate``. The web server answers
  a refused payment (wrong client secret, declined card…) with 200 and the ``error`` body, so that
  it does not show in the page's console as a failed request.

localstripe then posts its signed ``payment_intent.succeeded`` webhook to the API, as Stripe would.
Nothing here runs in AWS: there the web front loads the real ``https://js.stripe.com/v3/``.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import requests

SHIM_PATH = "/_local/stripe.js"
CONFIRM_PATH = "/_local/stripe/confirm"
MAX_CONFIRM_BODY = 64 * 1024
TIMEOUT = 15.0

_CLIENT_SECRET = re.compile(r"(pi_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+")
_CONFIRMABLE = ("requires_payment_method", "requires_confirmation")
_BASE_MARKER = "document.currentScript.src"

_WRAPPER = """
;(function () {
  "use strict";
  var confirmUrl = new URL(%(confirm_path)s, document.currentScript.src).href;
  var makeStripe = window.Stripe;

  function failure(type, code, message) {
    return {error: {type: type, code: code, message: message}};
  }

  async function post(body) {
    var response;
    try {
      response = await fetch(confirmUrl, {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify(body)
      });
    } catch (err) {
      return failure("api_connection_error", "network_error", "Could not reach the local payment server.");
    }
    var answer = await response.json().catch(function () { return {}; });
    if (!response.ok || answer.error || !answer.paymentIntent) {
      return {error: answer.error || {type: "api_error", message: "HTTP " + response.status}};
    }
    return {paymentIntent: answer.paymentIntent};
  }

  window.Stripe = function (publishableKey, options) {
    var stripe = makeStripe(publishableKey, options);
    var authenticate = stripe.confirmCardPayment;  // localstripe's: 3-D Secure modal + /_authenticate
    stripe.confirmCardPayment = async function (clientSecret, data) {
      var method = data && data.payment_method;
      var body = {client_secret: clientSecret};
      if (typeof method === "string") {
        body.payment_method = method;
      } else if (method && method.card && typeof method.card === "object") {
        var value = method.card.value && method.card.value.card;
        if (!value || !value.number) {
          return failure("validation_error", "incomplete_number", "Your card number is incomplete.");
        }
        body.card = value;
      } else {
        return failure("integration_error", "missing_payment_method",
                       "confirmCardPayment needs {payment_method: {card: element}} locally.");
      }
      var result = await post(body);
      if (result.paymentIntent && result.paymentIntent.status === "requires_action") {
        result = await authenticate(clientSecret);
        var intent = result.paymentIntent;
        if (intent && intent.status === "requires_payment_method") {
          var last = intent.last_payment_error || {};
          return {error: {type: "card_error", code: last.code || "payment_intent_authentication_failure",
                          message: last.message || "Authentication failed.", payment_intent: intent}};
        }
      }
      return result;
    };
    return stripe;
  };
})();
"""


def localstripe_js() -> str:
    """localstripe's own fake Stripe.js, as it serves it at ``/js.stripe.com/v3/``."""
    return resources.files("localstripe").joinpath("localstripe-v3.js").read_text(encoding="utf-8")


def build_shim(stripe_api_base: str) -> bytes:
    """The script served at :data:`SHIM_PATH`; raises RuntimeError if localstripe's changed shape."""
    source = localstripe_js()
    if source.count(_BASE_MARKER) != 1:
        raise RuntimeError(f"localstripe-v3.js no longer computes its base from {_BASE_MARKER}: "
                           "update tools/stripe_shim.py")
    # localstripe derives its API base from its script's URL; the shim is served elsewhere.
    source = source.replace(_BASE_MARKER, json.dumps(f"{stripe_api_base.rstrip('/')}/js.stripe.com/v3/"))
    header = "// motcua local only: localstripe's Stripe.js + card confirmation (tools/stripe_shim.py)\n"
    wrapper = _WRAPPER % {"confirm_path": json.dumps(CONFIRM_PATH)}
    return (header + "(function () {\n" + source + "\n})();\n" + wrapper).encode("utf-8")


def _error(status: int, type_: str, code: str, message: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"type": type_, "code": code, "message": message, **extra}}


def _stripe_error(response: requests.Response) -> tuple[int, dict[str, Any]]:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    status = response.status_code if 400 <= response.status_code < 500 else 502
    # localstripe calls every error invalid_request_error; Stripe calls a declined card a card_error.
    type_ = "card_error" if status == 402 else error.get("type") or "api_error"
    return status, {"error": {"type": type_, "code": error.get("code"),
                              "message": error.get("message") or f"localstripe answered {response.status_code}"}}


def confirm_card_payment(stripe_api_base: str, secret_key: str, payload: Any) -> tuple[int, dict[str, Any]]:
    """Confirms a PaymentIntent with a card, as Stripe does for a publishable-key confirm.

    ``payload`` is ``{"client_secret": "pi_…_secret_…", "card": {number, exp_month, exp_year, cvc}}``
    or ``{"client_secret": …, "payment_method": "pm_…"}``. Returns an HTTP status and
    ``{"paymentIntent": {...}}`` or ``{"error": {"type", "code", "message"}}``.
    """
    if not isinstance(payload, dict):
        return _error(400, "invalid_request_error", "parameter_invalid", "Expected a JSON object.")
    client_secret = payload.get("client_secret")
    match = _CLIENT_SECRET.fullmatch(client_secret) if isinstance(client_secret, str) else None
    if match is None:
        return _error(400, "invalid_request_error", "parameter_invalid",
                      "Invalid value for confirmCardPayment: client_secret should be a client secret "
                      "of the form ${id}_secret_${secret}.")
    intent_id = match.group(1)
    base = stripe_api_base.rstrip("/")
    session = requests.Session()
    session.auth = (secret_key, "")

    found = session.get(f"{base}/v1/payment_intents/{intent_id}", timeout=TIMEOUT)
    if found.status_code == 404:
        return _error(400, "invalid_request_error", "resource_missing", f"No such payment_intent: '{intent_id}'")
    if found.status_code != 200:
        return _stripe_error(found)
    intent = found.json()
    if intent.get("client_secret") != client_secret:
        return _error(400, "invalid_request_error", "payment_intent_invalid_parameter",
                      "The client_secret provided does not match any associated PaymentIntent on this account.")
    if intent.get("status") not in _CONFIRMABLE:
        return _error(400, "invalid_request_error", "payment_intent_unexpected_state",
                      f"This PaymentIntent's status is {intent.get('status')}; it cannot be confirmed.",
                      payment_intent=intent)

    method_id = payload.get("payment_method")
    card = payload.get("card")
    if isinstance(method_id, str) and method_id.startswith("pm_"):
        pass
    elif isinstance(card, dict):
        fields = {name: str(card.get(name) or "").replace(" ", "") for name in
                  ("number", "exp_month", "exp_year", "cvc")}
        if not all(fields.values()):
            return _error(400, "card_error", "incomplete_card", "Your card details are incomplete.")
        created = session.post(f"{base}/v1/payment_methods", timeout=TIMEOUT,
                               data={"type": "card", **{f"card[{k}]": v for k, v in fields.items()}})
        if created.status_code != 200:
            status, body = _stripe_error(created)
            if body["error"]["message"] == "Bad request":  # localstripe's only word for a bad card
                body["error"].update(type="card_error", code=body["error"]["code"] or "invalid_card",
                                     message="Your card details are invalid.")
            return status, body
        method_id = created.json()["id"]
    else:
        return _error(400, "invalid_request_error", "parameter_missing",
                      "Give card details or a payment_method id.")

    updated = session.post(f"{base}/v1/payment_intents/{intent_id}", data={"payment_method": method_id},
                           timeout=TIMEOUT)
    if updated.status_code != 200:
        return _stripe_error(updated)
    confirmed = session.post(f"{base}/v1/payment_intents/{intent_id}/confirm", timeout=TIMEOUT)
    if confirmed.status_code != 200:
        status, body = _stripe_error(confirmed)
        latest = session.get(f"{base}/v1/payment_intents/{intent_id}", timeout=TIMEOUT)
        if latest.status_code == 200:
            body["error"]["payment_intent"] = latest.json()
        return status, body
    return 200, {"paymentIntent": confirmed.json()}
