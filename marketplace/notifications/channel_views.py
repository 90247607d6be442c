"""A person's messages: what they get by which channel, the one-click unsubscribe, Telegram linking,
and the bot's webhook."""
from __future__ import annotations

import hmac
import logging

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from marketplace.core.events import security_event
from marketplace.core.extensions import csrf, db, limiter
from marketplace.notifications import channels, telegram
from marketplace.notifications.kinds import CHANNELS, KINDS
from marketplace.web.security import config_limit, limits_off
from marketplace.web.transaction import transaction

log = logging.getLogger(__name__)
bp = Blueprint("messages", __name__)
#: The session keeps the deep link just made, so the page can show it again until it is used.
LINK_TOKEN_KEY = "telegram_link_token"


def _roles() -> set[str]:
    return {getattr(role, "value", role) for role in current_user.roles}


def _user_key() -> str:
    return f"user:{current_user.get_id()}"


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the authority; mail clients POST here with no form (RFC 8058)
def unsubscribe(token: str):
    found = channels.read_unsubscribe_token(token)
    if found is None:
        security_event("unsubscribe_refused", outcome="refused", reason="bad signature")
        return render_template("notifications/unsubscribe.html", found=None), 404
    if request.method == "GET":
        return render_template("notifications/unsubscribe.html", found=found, done=None)
    enabled = request.form.get("choice") == "on"
    with transaction(flash_errors=False) as tx:
        channels.set_preference(found.user_id, found.kind, found.channel, enabled)
    if not tx.ok:
        return render_template("notifications/unsubscribe.html", found=None), 404
    return render_template("notifications/unsubscribe.html", found=found, done="on" if enabled else "off")


@bp.route("/account/messages", methods=["POST"])
@login_required
def save_preferences():
    if not FlaskForm().validate_on_submit():
        abort(400)
    switched_on = {(kind, channel) for kind in KINDS for channel in CHANNELS
                   if request.form.get(f"{kind}-{channel}") == "on"}
    with transaction():
        channels.save_preferences(current_user.id, _roles(), switched_on)
    flash(_("Your message settings are saved."), "success")
    return redirect(url_for("accounts.account", _anchor="messages"))


@bp.route("/account/telegram")
@login_required
def telegram_page():
    if not channels.telegram_enabled():
        abort(404)
    token = session.get(LINK_TOKEN_KEY)
    linked = telegram.chat_of(current_user.id) is not None
    if linked and token:
        session.pop(LINK_TOKEN_KEY)
        token = None
    return render_template("notifications/telegram.html", linked=linked, form=FlaskForm(),
                           link=telegram.deep_link(token) if token else None)


@bp.route("/account/telegram/link", methods=["POST"])
@login_required
@limiter.limit(config_limit("TELEGRAM_LINK_RATE_LIMIT"), key_func=_user_key, exempt_when=limits_off,
               scope="telegram-link")
def telegram_link():
    if not channels.telegram_enabled():
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    with transaction():
        session[LINK_TOKEN_KEY] = telegram.new_link_token(current_user.id)
    return redirect(url_for("messages.telegram_page"))


@bp.route("/account/telegram/unlink", methods=["POST"])
@login_required
def telegram_unlink():
    if not channels.telegram_enabled():
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    with transaction():
        chat_id = telegram.unlink_user(current_user.id)
        if chat_id is not None:
            # An account without a saved language reads the site in its browser's: say it in that.
            telegram.say_unlinked_from_site(chat_id, current_user.locale or str(get_locale()))
    session.pop(LINK_TOKEN_KEY, None)
    flash(_("Telegram is unlinked from your account.") if chat_id is not None
          else _("Telegram was not linked."), "success")
    return redirect(url_for("accounts.account", _anchor="messages"))


@bp.route("/telegram/webhook", methods=["POST"])
@csrf.exempt  # Telegram's secret header is the authority
def telegram_webhook():
    secret = current_app.config.get("TELEGRAM_WEBHOOK_SECRET")
    if not channels.telegram_enabled() or not secret:
        abort(404)
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        security_event("telegram_webhook_refused", outcome="refused", reason="secret header")
        abort(403)
    update = request.get_json(silent=True)
    try:
        telegram.handle_update(update)
        db.session.commit()
    except Exception:  # Telegram sends the update again when the answer is not 2xx
        log.exception("Telegram update %s could not be handled",
                      update.get("update_id") if isinstance(update, dict) else None)
        db.session.rollback()
        return Response("error", status=500, mimetype="text/plain")
    return Response("ok", mimetype="text/plain")
