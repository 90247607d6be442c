"""Users and their roles."""
from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from marketplace.core.db import UTCDateTime, str_enum, utcnow
from marketplace.core.events import security_event
from marketplace.core.extensions import db
from marketplace.core.translit import sound_keys


class Role(str, enum.Enum):
    CUSTOMER = "customer"
    PRODUCER = "producer"
    ORGANIZER = "organizer"
    ADMIN = "admin"


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


def normalize_email(email: str) -> str:
    """Emails are unique whatever their letter case: store them lower-cased."""
    return email.strip().lower()


class User(UserMixin, db.Model):
    """A person with an account: customer, producer, organizer and/or admin."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Always stored lower-cased (see normalize_email), so the unique index is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(32))
    #: The language chosen (menu, account page, registration); None: as the browser says.
    locale: Mapped[str | None] = mapped_column(String(8))
    #: The page's language at the last login or checkout: messages use it when `locale` is None.
    last_locale: Mapped[str | None] = mapped_column(String(8))
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Rotated on logout and password change; the login cookie carries it, so an old
    #: copied cookie stops working for good.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The sound keys of the name's and email's words (core.translit.sound_keys): the admin's
    #: user search finds "Гүлмира" from "гулмира" (a Russian keyboard) and "gulmira". Kept by
    #: the validators below whenever the name or email is set (migration 0016 filled the rows before it).
    search_key: Mapped[str] = mapped_column(Text, default="", server_default="")

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @validates("email")
    def _normalize_email(self, _key, value: str) -> str:
        email = normalize_email(value)
        self.search_key = sound_keys(f"{self.name or ''} {email}")
        return email

    @validates("name")
    def _keep_search_key(self, _key, value: str) -> str:
        self.search_key = sound_keys(f"{value or ''} {self.email or ''}")
        return value

    @property
    def roles(self) -> set[Role]:
        return {row.role for row in self.role_rows}

    def has_role(self, role: Role | str) -> bool:
        return Role(role) in self.roles

    def add_role(self, role: Role | str) -> None:
        if not self.has_role(role):
            self.role_rows.append(UserRole(role=Role(role)))
            self._privilege_changed("role_granted", Role(role))

    def remove_role(self, role: Role | str) -> None:
        if self.has_role(role):
            self.role_rows = [row for row in self.role_rows if row.role != Role(role)]
            self._privilege_changed("role_revoked", Role(role))

    def _privilege_changed(self, event: str, role: Role) -> None:
        """A stored account's roles changed (by an admin, or an organizer adding another):
        every session it has ends, so the new privileges start only in a fresh session, and
        the change leaves a security event (the acting user is the request's)."""
        if self.id is None:
            return  # an account being created: no session yet, registration logs it
        self.rotate_session_token()
        security_event(event, outcome="done", target_user_id=self.id, role=role.value)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def message_locale(self) -> str | None:
        """The language of emails and Telegram messages: the one chosen, else the one last used
        on the site (someone shopping in Kazakh "as my browser says" is written to in Kazakh)."""
        return self.locale or self.last_locale

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else self.name

    def get_id(self) -> str:  # Flask-Login stores this, not the numeric id
        return self.session_token

    def rotate_session_token(self) -> None:
        self.session_token = new_session_token()


class UserRole(db.Model):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(str_enum(Role), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class RoleChange(db.Model):
    """A role granted or taken away by an admin: who, when; shown on the user's admin page."""

    __tablename__ = "role_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    #: True: the role was granted; False: taken away.
    granted: Mapped[bool]
    #: The admin who did it (kept as None if that account is deleted).
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    changed_by: Mapped[User | None] = relationship(foreign_keys=[changed_by_id])


ROLE_LABELS = {
    Role.CUSTOMER: _l("customer"),
    Role.PRODUCER: _l("producer"),
    Role.ORGANIZER: _l("organizer"),
    Role.ADMIN: _l("admin"),
}


def role_label(role: Role | str) -> str:
    return str(ROLE_LABELS.get(Role(role), role))
