"""When Stripe cannot be reached or refuses (issue 17, case 9): every `stripe` error class is
mapped to one of ours, and the customer gets a clear page (503, in the site's design and the
user's language) offering cash where the market takes it — never a 500."""
from __future__ import annotations

import inspect

import pytest
import stripe
import stripe._error as stripe_errors
import stripe.oauth_error as stripe_oauth_errors
from flask_babel import force_locale, gettext

from marketplace.core.extensions import db
from marketplace.orders.models import Order, OrderStatus, PaymentMethod
from marketplace.payments import gateway
from marketplace.payments import services as payments
from marketplace.payments.models import PaymentStatus
from tests.conftest import PASSWORD
from tests.payments.helpers import assert_money_invariants, card_order

STRIPE_ERRORS = sorted({cls for module in (stripe_errors, stripe_oauth_errors)
                        for _name, cls in inspect.getmembers(module, inspect.isclass)
                        if issubclass(cls, stripe.StripeError)}, key=lambda cls: (cls.__module__, cls.__name__))


def raise_(cls, status=None):
    exc = cls.__new__(cls)
    stripe.StripeError.__init__(exc, f"{cls.__name__} from Stripe", http_status=status)

    def call(*_args, **_kwargs):
        raise exc
    return call


@pytest.mark.parametrize("cls", STRIPE_ERRORS, ids=lambda cls: f"{cls.__module__.split('.')[-1]}.{cls.__name__}")
def test_every_stripe_error_class_becomes_one_of_ours(app, cls):
    with app.app_context(), pytest.raises(gateway.GatewayError) as caught:
        gateway._call(raise_(cls))
    gateway.mark_available()
    assert type(caught.value) in (gateway.CardDeclined, gateway.GatewayRefused, gateway.GatewayUnavailable,
                                  gateway.GatewayOutcomeUnknown, gateway.GatewayBusy, gateway.GatewayMisconfigured)


@pytest.mark.parametrize(("cls", "ours"), [
    (stripe.CardError, gateway.CardDeclined),
    (stripe.InvalidRequestError, gateway.GatewayRefused),
    (stripe.IdempotencyError, gateway.GatewayBusy),
    (stripe.AuthenticationError, gateway.GatewayMisconfigured),
    (stripe.PermissionError, gateway.GatewayMisconfigured),
    (stripe.RateLimitError, gateway.GatewayUnavailable),
    (stripe.APIConnectionError, gateway.GatewayOutcomeUnknown),
    (stripe.APIError, gateway.GatewayOutcomeUnknown),
])
def test_what_each_error_means(app, cls, ours):
    with app.app_context(), pytest.raises(gateway.GatewayError) as caught:
        gateway._call(raise_(cls))
    gateway.mark_available()
    assert type(caught.value) is ours


def test_errors_of_classes_we_have_not_met_are_told_by_their_status(app):
    class NewError(stripe.StripeError):
        pass

    with app.app_context():
        assert gateway.kind_of(NewError("x", http_status=400)) is gateway.GatewayRefused
        assert gateway.kind_of(NewError("x", http_status=409)) is gateway.GatewayBusy
        assert gateway.kind_of(stripe.APIError("in flight", http_status=409)) is gateway.GatewayBusy
        assert gateway.kind_of(NewError("x", http_status=502)) is gateway.GatewayOutcomeUnknown


def customer_client(app, order: Order, locale: str | None = None):
    client = app.test_client()
    headers = {"Accept-Language": locale} if locale else {}
    assert client.post("/login", data={"email": order.customer.email, "password": PASSWORD},
                       headers=headers).status_code == 302
    return client, headers


def test_stripe_unreachable_at_card_entry_is_a_503_page_offering_cash(app, ctx, stripe_proxy, stripe_on):
    order = card_order(by_weight=False)
    client, _ = customer_client(app, order)
    stripe_proxy.drop("POST", r"/v1/customers", times=None)  # no answer at all
    page = client.post(f"/orders/{order.id}/pay", data={"token": stripe_on.card_token()})
    assert page.status_code == 503 and page.headers["Retry-After"] == "60"
    assert "Card payment is unavailable right now" in page.text and "Nothing was charged" in page.text
    assert "Pay in cash at pickup instead" in page.text
    assert "<header" in page.text and "error-page" in page.text  # the site's own page, not a bare error
    # The customer takes the offer.
    done = client.post(f"/orders/{order.id}/pay/cash", follow_redirects=True)
    assert done.status_code == 200
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.CONFIRMED and order.payment_method == PaymentMethod.CASH


def test_the_503_page_speaks_the_customers_language(app, ctx, stripe_proxy, stripe_on):
    order = card_order(by_weight=False)
    order.customer.locale = "ru"
    db.session.commit()
    client, headers = customer_client(app, order, "ru")
    stripe_proxy.fail("POST", r"/v1/customers", status=500, times=None)
    page = client.post(f"/orders/{order.id}/pay", data={"token": stripe_on.card_token()}, headers=headers)
    assert page.status_code == 503
    assert 'lang="ru"' in page.text and "Card payment is unavailable right now" not in page.text


def test_a_market_without_cash_is_not_offered_cash(app, ctx, stripe_proxy, stripe_on):
    order = card_order(by_weight=False)
    order.market_day.market.accepts_cash = False
    db.session.commit()
    client, _ = customer_client(app, order)
    stripe_proxy.fail("POST", r"/v1/customers", status=503, times=None)
    page = client.post(f"/orders/{order.id}/pay", data={"token": stripe_on.card_token()})
    assert page.status_code == 503
    assert "Pay in cash at pickup instead" not in page.text and "takes no cash" in page.text
    assert "Try the card again" in page.text


@pytest.mark.parametrize(("status", "error_type"), [(403, "permission_error"), (401, "authentication_error"),
                                                     (429, "rate_limit_error"), (500, "api_error")])
def test_stripe_refusing_our_keys_or_failing_is_never_a_500(app, ctx, stripe_proxy, stripe_on, status, error_type):
    order = card_order(by_weight=False)
    client, _ = customer_client(app, order)
    stripe_proxy.fail("POST", r"/v1/customers", status=status, type=error_type, times=None)
    page = client.post(f"/orders/{order.id}/pay", data={"token": stripe_on.card_token()})
    assert page.status_code == 503
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING_PAYMENT  # nothing decided


def test_an_idempotency_conflict_on_confirmation_asks_stripe_instead_of_failing(app, ctx, stripe_proxy, stripe_on):
    order = card_order(by_weight=False)
    client, _ = customer_client(app, order)
    # The same key is in flight elsewhere (a double submit): Stripe answers 409 idempotency_error.
    stripe_proxy.fail("POST", r"/v1/payment_intents/[^/]+/confirm", status=409, type="idempotency_error")
    page = client.post(f"/orders/{order.id}/pay", data={"token": stripe_on.card_token()})
    assert page.status_code == 302  # to the order page: the intent is read back, nothing crashes
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING_PAYMENT
    assert_money_invariants(stripe_on)


def test_the_bank_check_with_stripe_down_is_the_503_page(app, ctx, stripe_proxy, stripe_on):
    order = card_order(by_weight=False)
    client, _ = customer_client(app, order)
    stripe_proxy.drop("GET", r"/v1/payment_intents/[^/]+", times=None)
    page = client.post(f"/orders/{order.id}/pay/check")
    assert page.status_code == 503 and "Card payment is unavailable right now" in page.text


def test_checkout_stops_offering_the_card_after_stripe_failed(app, ctx, stripe_proxy, stripe_on):
    order = card_order(by_weight=False)
    stripe_proxy.fail("GET", r"/v1/payment_intents/[^/]+", status=500)
    with pytest.raises(gateway.GatewayUnavailable):
        payments.refresh_from_stripe(payments.current_payment(order))
    db.session.rollback()
    assert "unavailable right now" in payments.card_refusal_reason(order.market_day)
    assert payments.current_payment(order).status == PaymentStatus.CREATED


@pytest.mark.parametrize("locale", ["ru", "kk", "ky", "en"])
def test_the_pay_page_while_stripe_is_known_down_offers_cash_or_later_not_a_live_button(app, ctx, stripe_on, locale):
    order = card_order(by_weight=False)
    order.customer.locale = locale
    db.session.commit()
    client, headers = customer_client(app, order, locale)
    gateway.mark_unavailable()  # a call to Stripe just went unanswered

    page = client.get(f"/orders/{order.id}/pay", headers=headers)
    assert page.status_code == 503 and page.headers["Retry-After"] == "60"
    assert 'id="card-form"' not in page.text and "js.stripe.com" not in page.text  # no button to wait on
    with app.test_request_context(), force_locale(locale):
        said = [gettext("Card payment is unavailable right now"),
                gettext("You can pay in cash when you pick up your order, or try the card again in a few minutes."),
                gettext("Pay in cash at pickup instead"), gettext("Try the card again")]
    assert all(text in page.text for text in said), said
    if locale != "en":
        assert "Card payment is unavailable right now" not in page.text

    gateway.mark_available()  # Stripe answers again: the card form is back
    page = client.get(f"/orders/{order.id}/pay", headers=headers)
    assert page.status_code == 200 and 'id="card-form"' in page.text
