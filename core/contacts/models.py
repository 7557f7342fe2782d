"""Companies, contacts and their phones."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamped, UTCDateTime, partial_index

ContactSource = Literal["call", "bot", "import", "api", "manual"]


class Company(Timestamped, Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_folded: Mapped[str] = mapped_column(String(300), index=True)
    inn: Mapped[str | None] = mapped_column(String(20))
    website: Mapped[str | None] = mapped_column(String(300))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Contact(Timestamped, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_owner_live", "owner_id", "deleted_at"),
        Index("ix_contacts_birthday_md", "birthday_md"),
        Index("uq_contacts_greeting_token", "greeting_token", unique=True),
        Index("ix_contacts_telegram_user", "telegram_user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    birthday: Mapped[date | None] = mapped_column(Date)
    birthday_md: Mapped[str | None] = mapped_column(String(5))  # "MM-DD", for the greetings job
    timezone: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320))
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    # The client's Telegram user id, once they wrote to the company bot or a salesperson's
    # Business chat (kept whether or not they opted in to greetings).
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Client opt-in (bot deep link `start=c_<token>`): the token and when consent was given.
    greeting_token: Mapped[str | None] = mapped_column(String(32))
    # When the current token was issued: links expire (GREETING_LINK_DAYS) and rotate.
    greeting_token_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where consent came from: "telegram" (the client's own link) or "api:<source>" (consent
    # given elsewhere, recorded by an integration with its source and time).
    consent_source: Mapped[str | None] = mapped_column(String(120))
    # The client's /stop: final. Only the client's own action (a new link) opens it again.
    consent_stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    search_text: Mapped[str] = mapped_column(Text, default="")
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )

    phones: Mapped[list[ContactPhone]] = relationship(
        back_populates="contact",
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="ContactPhone.id",
    )
    company: Mapped[Company | None] = relationship(lazy="selectin")


class ContactPhone(Base):
    """A phone of a contact. `e164` is the lookup key; a live e164 belongs to one contact."""

    __tablename__ = "contact_phones"
    __table_args__ = (
        partial_index(
            "uq_contact_phones_live_e164",
            "e164",
            where="is_live = 1",
            postgresql_where="is_live",
            unique=True,
        ),
        Index("ix_contact_phones_e164", "e164"),
        Index("ix_contact_phones_last10", "last10"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(String(20))
    last10: Mapped[str] = mapped_column(String(10))
    extension: Mapped[str | None] = mapped_column(String(10))
    raw: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="mobile")
    is_live: Mapped[bool] = mapped_column(Boolean, default=True)

    contact: Mapped[Contact] = relationship(back_populates="phones", lazy="raise")
