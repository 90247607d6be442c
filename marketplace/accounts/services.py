"""Accounts: registration, authentication, tokens and roles."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from marketplace.accounts import throttle
from marketplace.accounts.models import Role, RoleChange, User, normalize_email
from marketplace.accounts.signals import user_registered
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.events import security_event
from marketplace.core.extensions import db
from marketplace.core.text import transliterate
from marketplace.notifications.services import queue_email

MIN_PASSWORD_LENGTH = 8
#: zxcvbn looks at this many characters (it slows down on long input; a longer one is strong).
ZXCVBN_MAX_LENGTH = 72
_COMMON_PASSWORDS: set[str] | None = None
_LOCAL_WORDS: list[str] | None = None


class WeakPassword(DomainError):
    #: The form field its message is shown beside (web.transaction reads it).
    field = "password"


def common_passwords() -> set[str]:
    global _COMMON_PASSWORDS
    if _COMMON_PASSWORDS is None:
        path = Path(__file__).with_name("common_passwords.txt")
        _COMMON_PASSWORDS = {line.strip().lower() for line in path.read_text().splitlines() if line.strip()}
    return _COMMON_PASSWORDS


#: Rows of the Russian (ЙЦУКЕН) keyboard, which zxcvbn's keyboard patterns do not know.
_CYRILLIC_ROWS = ("ё1234567890-=", "йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю.")


def _keyboard_run(lowered: str) -> bool:
    """A run along a Russian keyboard row, forwards or backwards ('йцукенгшщз', 'джлорпавыф')."""
    return any(lowered in row or lowered in row[::-1] for row in _CYRILLIC_ROWS)


def check_password_strength(password: str, email: str = "", name: str = "") -> None:
    """Raise WeakPassword unless the password is long enough and hard to guess.

    zxcvbn estimates the guesses an attacker needs (dictionaries of common passwords, names
    and words, keyboard patterns, dates, repeats, l33t); our own list adds what it does not
    know (Cyrillic keyboard runs, local words). The email and name count as known words.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(str(_l("Use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)))
    lowered = password.lower()
    # The name's words count one by one too: "Айгуль Сапарова" gives "айгуль" and "сапарова".
    known = [part for part in (normalize_email(email), *normalize_email(email).split("@"), name,
                               *name.lower().split()) if part]
    if lowered in common_passwords() or lowered in known or _keyboard_run(lowered):
        raise WeakPassword(str(_l("This password is too common. Choose one that is harder to guess.")))
    if _guessable(password[:ZXCVBN_MAX_LENGTH], known):
        raise WeakPassword(str(_l("This password is too easy to guess. Use a few words that do not "
                                  "belong together, or a longer mix of letters and digits.")))


def local_words() -> list[str]:
    """Places, first names and greetings of Kazakhstan and Kyrgyzstan, in Cyrillic and in Latin
    letters (local_words.txt): zxcvbn's own lists are English."""
    global _LOCAL_WORDS
    if _LOCAL_WORDS is None:
        path = Path(__file__).with_name("local_words.txt")
        cyrillic = [line.strip() for line in path.read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
        _LOCAL_WORDS = sorted({*cyrillic, *(transliterate(word) for word in cyrillic)})
    return _LOCAL_WORDS


def _guessable(password: str, known: list[str]) -> bool:
    """zxcvbn's score under PASSWORD_MIN_SCORE, for the password as typed or in Latin letters
    ("наташа1985" is "natasha1985", a name zxcvbn knows), with the local words as a dictionary."""
    words = [*known, *local_words()]
    spellings = {password, transliterate(password)}
    score = min(zxcvbn(spelling, user_inputs=words)["score"] for spelling in spellings)
    return score < current_app.config.get("PASSWORD_MIN_SCORE", 3)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


@lru_cache(maxsize=4)
def dummy_hash(method: str) -> str:
    """A hash of a random password by `method`, made once per process (accounts.register makes
    it at start: made by the first unknown email, that login would be the slow one)."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def check_password(user: User | None, password: str) -> bool:
    """The password against the user's hash; for no user against a hash of the same method and
    cost, so an unknown email takes as long as a known one."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if user is None:
        check_password_hash(dummy_hash(method), password or "")
        return False
    return check_password_hash(user.password_hash, password or "")


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email or "")))


def email_fingerprint(email: str) -> str:
    """Names an email in counters and log lines without writing it down."""
    return throttle.fingerprint("email", normalize_email(email or ""))


def register_user(email: str, password: str, name: str, *, role: Role = Role.CUSTOMER,
                  locale: str | None = None, phone: str | None = None, data: dict | None = None,
                  browser_nonce: str = "") -> User | None:
    """Create an account (and, through the signal, whatever the role needs), or None when the
    email is taken: its owner is emailed instead, and the caller says the same in both cases.

    Both ways hash the password once and queue an email (the owner's at most once a day), so
    neither the answer nor its timing tells whether the email has an account. `browser_nonce`
    goes into the confirmation link: opened in the same browser session, it logs the new account in.
    """
    check_password_strength(password, email, name)
    existing = user_by_email(email)
    if existing is None:
        user = User(email=email, password_hash=hash_password(password), name=name.strip(),
                    locale=locale, phone=phone)
        user.add_role(Role.CUSTOMER)
        if role != Role.CUSTOMER:
            user.add_role(role)
        try:
            with db.session.begin_nested():
                db.session.add(user)
        except IntegrityError:  # a concurrent registration took the email
            existing = user_by_email(email)
        else:
            user_registered.send(user, data=data or {})
            send_verification_email(user, browser_nonce=browser_nonce)
            security_event("account_registered", outcome="created", user_id=user.id, role=role.value)
            return user
    hash_password(password)  # the same work as a new account, thrown away
    if existing is not None:
        # Once a day at most: otherwise anyone could flood the owner's inbox by signing up with it.
        queue_email(existing.email, "registration_attempt", _l("Someone tried to register with your email"),
                    locale=existing.locale, user=existing,
                    dedupe_key=f"registration-attempt-{existing.id}-{utcnow().date().isoformat()}")
    security_event("account_registered", outcome="email_taken", user_id=None,
                   target_user_id=getattr(existing, "id", None))
    return None


@dataclass
class LoginResult:
    """What a login attempt came to: the user, or why not (a wait in seconds when throttled)."""

    user: User | None = None
    wait: throttle.Wait | None = None


def attempt_login(email: str, password: str, *, address: str, device_user_id: int | None = None,
                  device: str = "") -> LoginResult:
    """Check credentials under the throttle (accounts/throttle.py); never says which part was wrong.

    `device` is the browser's device id when its device cookie names `device_user_id`: such a
    browser logged in to that account before and is not held back by the account's or the
    address's wait (the owner is never locked out by someone else's guessing).
    """
    email_key = email_fingerprint(email)
    user = user_by_email(email)
    trusted = bool(device) and user is not None and device_user_id == user.id and throttle.device_trusted(device)
    if not trusted:
        wait = throttle.wait_before_attempt(email_key, address)
        if wait is not None:
            security_event("login_throttled", outcome="refused", user_id=None, scope=wait.scope,
                           wait_seconds=wait.seconds, email_hash=email_key[:12],
                           target_user_id=getattr(user, "id", None))
            return LoginResult(wait=wait)
    if check_password(user, password) and user.active:
        if not trusted:
            throttle.record_success(email_key)
        security_event("login_succeeded", outcome="ok", user_id=user.id, known_device=trusted)
        return LoginResult(user=user)
    if trusted:
        throttle.record_device_failure(device)
        failures = None
    else:
        failures = throttle.record_failure(email_key, address)
    security_event("login_failed", outcome="refused", user_id=None, email_hash=email_key[:12],
                   target_user_id=getattr(user, "id", None), failures=failures, known_device=trusted)
    if user is not None and failures == throttle.policy().threshold:
        _tell_owner_of_failed_logins(user, failures)
    return LoginResult()


def _tell_owner_of_failed_logins(user: User, failures: int) -> None:
    """Once a day at most: someone is guessing this account's password."""
    queue_email(user.email, "login_attempts", _l("Failed logins to your Aimak account"), locale=user.locale,
                dedupe_key=f"login-attempts-{user.id}-{utcnow().date().isoformat()}", user=user,
                failures=failures)


def authenticate(email: str, password: str) -> User | None:
    """The active user for these credentials, or None (no throttle: for callers that have their own)."""
    user = user_by_email(email)
    if not check_password(user, password) or not user.active:
        return None
    return user


def load_user_by_session_token(token: str) -> User | None:
    if not token:
        return None
    return db.session.scalar(select(User).where(User.session_token == token, User.active.is_(True)))


def end_all_sessions(user: User) -> None:
    """Every cookie issued so far stops working (logout, password change, deactivation)."""
    user.rotate_session_token()


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not check_password_hash(user.password_hash, current_password or ""):
        security_event("password_change_refused", outcome="wrong_current_password", user_id=user.id)
        raise DomainError(str(_l("Your current password is not correct.")), field="current_password")
    set_password(user, new_password)
    security_event("password_changed", outcome="done", user_id=user.id)


def set_password(user: User, new_password: str) -> None:
    check_password_strength(new_password, user.email, user.name)
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)


def update_profile(user: User, name: str, phone: str | None, locale: str | None) -> None:
    user.name = name.strip()
    user.phone = (phone or "").strip() or None
    user.locale = locale or None


def set_locale(user: User, locale: str) -> None:
    """The language the user chose in the menu (the view checks it is one we offer)."""
    user.locale = locale


# --- Signed tokens -------------------------------------------------------------------
# A token is signed and timed (itsdangerous); its readable payload is a user id and an HMAC
# fingerprint of what must not have changed since it was made — never part of a hash. Links
# carry it after `#`, which browsers never send: it stays out of access logs and Referers.

def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _fingerprint(purpose: str, *parts: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    message = "\x1f".join((purpose, *parts)).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def _reset_fingerprint(user: User) -> str:
    # The password hash changes once the link is used, so the link works once.
    return _fingerprint("password-reset", str(user.id), user.email, user.password_hash)


def make_reset_token(user: User) -> str:
    return _serializer("password-reset").dumps({"uid": user.id, "fp": _reset_fingerprint(user)})


def _user_for_token(token: str, salt: str, max_age: int) -> tuple[User | None, dict]:
    try:
        data = _serializer(salt).loads(token or "", max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None, {}
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None, {}
    return db.session.get(User, data["uid"]), data


def user_for_reset_token(token: str) -> User | None:
    user, data = _user_for_token(token, "password-reset", current_app.config["PASSWORD_RESET_MAX_AGE"])
    if user is None or not user.active or not hmac.compare_digest(_reset_fingerprint(user), str(data.get("fp"))):
        return None
    return user


def request_password_reset(email: str) -> None:
    """Email a reset link if the account exists; the caller says the same either way."""
    user = user_by_email(email)
    security_event("password_reset_requested", outcome="sent" if user is not None and user.active else "no_account",
                   user_id=None, email_hash=email_fingerprint(email)[:12], target_user_id=getattr(user, "id", None))
    if user is None or not user.active:
        return
    queue_email(user.email, "password_reset", _l("Reset your Aimak password"), locale=user.locale,
                user=user, token=make_reset_token(user),
                hours=current_app.config["PASSWORD_RESET_MAX_AGE"] // 3600 or 1)


def reset_password(token: str, new_password: str) -> User | None:
    """Set a new password with a reset link (once); None when the link is invalid or used."""
    user = user_for_reset_token(token)
    if user is None:
        security_event("password_reset_done", outcome="invalid_link", user_id=None)
        return None
    set_password(user, new_password)
    # The owner proved they read the account's email: their account's login wait ends.
    throttle.forget_account(email_fingerprint(user.email))
    security_event("password_reset_done", outcome="done", user_id=user.id)
    return user


def _verify_fingerprint(user: User) -> str:
    return _fingerprint("verify-email", str(user.id), user.email)


def make_verify_token(user: User, browser_nonce: str = "") -> str:
    return _serializer("verify-email").dumps({"uid": user.id, "fp": _verify_fingerprint(user), "n": browser_nonce})


def send_verification_email(user: User, browser_nonce: str = "") -> None:
    queue_email(user.email, "verify_email", _l("Confirm your email for Aimak"), locale=user.locale,
                user=user, token=make_verify_token(user, browser_nonce))


@dataclass
class Verification:
    user: User
    #: The link was opened in the browser session that registered (its nonce matches) and the
    #: address was not confirmed before: that browser may be logged in.
    first_in_registering_browser: bool


def verify_email(token: str, browser_nonce: str = "") -> Verification | None:
    """Mark the address confirmed (idempotent); None for an invalid or expired link."""
    user, data = _user_for_token(token, "verify-email", current_app.config["EMAIL_VERIFY_MAX_AGE"])
    if user is None or not hmac.compare_digest(_verify_fingerprint(user), str(data.get("fp"))):
        return None
    first = user.email_verified_at is None
    if first:
        user.email_verified_at = utcnow()
        security_event("email_verified", outcome="done", user_id=user.id)
    same_browser = bool(browser_nonce) and hmac.compare_digest(browser_nonce, str(data.get("n") or ""))
    return Verification(user, first_in_registering_browser=first and same_browser and user.active)


# --- Roles (admin) ----------------------------------------------------------------

def grant_role(actor: User, user: User, role: Role) -> None:
    """Give a role; the user's sessions end (a new privilege starts in a fresh session). Recorded."""
    _require_admin(actor)
    if not user.has_role(role):
        db.session.add(RoleChange(user_id=user.id, role=role, granted=True, changed_by_id=actor.id))
    user.add_role(role)


def revoke_role(actor: User, user: User, role: Role) -> None:
    """Take a role away; the user's sessions end."""
    _require_admin(actor)
    if role == Role.ADMIN and actor.id == user.id:
        raise DomainError(str(_l("You cannot remove your own admin role.")))
    if role == Role.CUSTOMER:
        raise DomainError(str(_l("Every account keeps the customer role.")))
    if user.has_role(role):
        db.session.add(RoleChange(user_id=user.id, role=role, granted=False, changed_by_id=actor.id))
    user.remove_role(role)


def deactivate_user(actor: User, user: User) -> None:
    """The account can no longer log in, and every session it has ends now."""
    _require_admin(actor)
    if actor.id == user.id:
        raise DomainError(str(_l("You cannot deactivate your own account.")))
    user.active = False
    end_all_sessions(user)
    db.session.flush()
    security_event("user_deactivated", outcome="done", user_id=actor.id, target_user_id=user.id)


def reactivate_user(actor: User, user: User) -> None:
    """The account may log in again (with its password, or after a reset)."""
    _require_admin(actor)
    user.active = True
    db.session.flush()
    security_event("user_reactivated", outcome="done", user_id=actor.id, target_user_id=user.id)


def _require_admin(actor: User) -> None:
    if not actor.has_role(Role.ADMIN):
        raise NotAllowed()


def create_user_cli(email: str, password: str, name: str, roles: list[Role]) -> User:
    """Used by `flask create-user`: creates or updates an account with these roles."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        check_password_strength(password, email)
        user = User(email=email, password_hash=hash_password(password), name=name,
                    email_verified_at=utcnow())
        user.add_role(Role.CUSTOMER)
        db.session.add(user)
    for role in roles:
        user.add_role(role)
    db.session.flush()
    return user


