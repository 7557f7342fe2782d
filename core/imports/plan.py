"""Contacts import: what a checked row will become, batch by batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core.imports.dto import ContactRow
from core.phones import Phone


@dataclass
class Plan:
    row: ContactRow
    name: str
    phones: list[Phone]
    email: str | None
    owner_id: int | None
    tags: list[str]
    contact_id: int | None = None  # the row's ID column: the contact it updates
    # (user ID, active) of an owner named by a name that is not sure: decided by _match
    owner_choices: tuple[tuple[int, bool], ...] = ()
    timezone: str | None = None
    source: str | None = None
    company_id: int | None = None  # the company the row names, found by _match (None: new)
    company_name: str | None = None  # that company's name as the CRM spells it


@dataclass(slots=True)
class Current:
    """A matched contact's fields as an import compares them, read as plain columns: the
    ORM object is loaded only for the contacts that change (a no-op import loads none)."""

    id: int
    name: str
    email: str | None
    birthday: date | None
    owner_id: int | None
    timezone: str | None
    source: str
    tags: list[str]
    company_id: int | None
    visible: bool
    phones: set[str] = field(default_factory=set)  # its live numbers, E.164
    company_folded: str | None = None  # its company's name as companies are matched


@dataclass
class Batch:
    new: list[Plan] = field(default_factory=list)
    updates: list[tuple[Plan, Current, dict[str, Any]]] = field(default_factory=list)
    duplicate: int = 0
    unchanged: int = 0  # matched rows whose every field already holds the file's value
    rejected: list[tuple[int, str]] = field(default_factory=list)
