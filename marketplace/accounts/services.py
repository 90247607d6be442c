"""Accounts: registration, authentication, tokens and roles."""
from __future__ import annotations

from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.accounts.models import Role, User, normalize_email
from marketplace.accounts.signals import user_registered
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.extensions import db
from marketplace.notifications.services import queue_email

MIN_PASSWORD_LENGTH = 8
_COMMON_PASSWORDS: set[str] | None = None
# A fixed hash checked when the email is unknown, so both cases take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="pbkdf2:sha256:1000")


class EmailTaken(DomainError):
    #: The form field its message is shown beside (web.transaction reads it).
    field = "email"


class WeakPassword(DomainError):
    #: The form field its message is shown beside (web.transaction reads it).
    field = "password"


def common_passwords() -> set[str]:
    global _COMMON_PASSWORDS
    if _COMMON_PASSWORDS is None:
        path = Path(__file__).with_name("common_passwords.txt")
        _COMMON_PASSWORDS = {line.strip().lower() for line in path.read_text().splitlines() if line.strip()}
    return _COMMON_PASSWORDS


def check_password_strength(password: str, email: str = "") -> None:
    """Raise WeakPassword unless the password is long enough and not a common one."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(str(_l("Use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)))
    lowered = password.lower()
    if lowered in common_passwords() or (email and lowered == normalize_email(email)):
        raise WeakPassword(str(_l("This password is too common. Choose one that is harder to guess.")))


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


def email_exists(email: str) -> bool:
    return db.session.scalar(select(User.id).where(User.email == normalize_email(email))) is not None


def register_user(email: str, password: str, name: str, *, role: Role = Role.CUSTOMER,
                  locale: str | None = None, phone: str | None = None, data: dict | None = None) -> User:
    """Create an account (and, through the signal, whatever the role needs)."""
    check_password_strength(password, email)
    if email_exists(email):
        raise EmailTaken(str(_l("An account with this email already exists.")))
    user = User(email=email, password_hash=hash_password(password), name=name.strip(),
                locale=locale, phone=phone)
    user.add_role(Role.CUSTOMER)
    if role != Role.CUSTOMER:
        user.add_role(role)
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError as exc:  # a concurrent registration took the email
        raise EmailTaken(str(_l("An account with this email already exists."))) from exc
    user_registered.send(user, data=data or {})
    send_verification_email(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None; never says which part was wrong."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email or "")))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    return user


def load_user_by_session_token(token: str) -> User | None:
    if not token:
        return None
    return db.session.scalar(select(User).where(User.session_token == token, User.active.is_(True)))


def end_all_sessions(user: User) -> None:
    """Every cookie issued so far stops working (logout, password change)."""
    user.rotate_session_token()


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not check_password_hash(user.password_hash, current_password or ""):
        raise DomainError(str(_l("Your current password is not correct.")), field="current_password")
    set_password(user, new_password)


def set_password(user: User, new_password: str) -> None:
    check_password_strength(new_password, user.email)
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

def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def make_reset_token(user: User) -> str:
    # The password hash's tail makes the token single-use: it changes once used.
    return _serializer("password-reset").dumps({"uid": user.id, "h": user.password_hash[-16:]})


def user_for_reset_token(token: str) -> User | None:
    try:
        data = _serializer("password-reset").loads(
            token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except (BadSignature, SignatureExpired):
        return None
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or user.password_hash[-16:] != data.get("h"):
        return None
    return user


def request_password_reset(email: str) -> None:
    """Email a reset link if the account exists; the caller says the same either way."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email or "")))
    if user is None or not user.active:
        return
    queue_email(user.email, "password_reset", _l("Reset your Aimak password"), locale=user.locale,
                user=user, token=make_reset_token(user),
                hours=current_app.config["PASSWORD_RESET_MAX_AGE"] // 3600 or 1)


def make_verify_token(user: User) -> str:
    return _serializer("verify-email").dumps({"uid": user.id, "email": user.email})


def send_verification_email(user: User) -> None:
    queue_email(user.email, "verify_email", _l("Confirm your email for Aimak"), locale=user.locale,
                user=user, token=make_verify_token(user))


def verify_email(token: str) -> User | None:
    try:
        data = _serializer("verify-email").loads(token, max_age=current_app.config["EMAIL_VERIFY_MAX_AGE"])
    except (BadSignature, SignatureExpired):
        return None
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or user.email != data.get("email"):
        return None
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    return user


# --- Roles (admin) ----------------------------------------------------------------

def grant_role(actor: User, user: User, role: Role) -> None:
    _require_admin(actor)
    user.add_role(role)


def revoke_role(actor: User, user: User, role: Role) -> None:
    _require_admin(actor)
    if role == Role.ADMIN and actor.id == user.id:
        raise DomainError(str(_l("You cannot remove your own admin role.")))
    if role == Role.CUSTOMER:
        raise DomainError(str(_l("Every account keeps the customer role.")))
    user.remove_role(role)


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


