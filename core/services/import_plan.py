"""Contacts import: what a checked row will become, batch by batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.imports.dto import ContactRow
from core.models.contacts import Contact
from core.phones import Phone


@dataclass
class Plan:
    row: ContactRow
    name: str
    phones: list[Phone]
    email: str | None
    owner_id: int | None
    tags: list[str]


@dataclass
class Batch:
    new: list[Plan] = field(default_factory=list)
    updates: list[tuple[Plan, Contact, dict[str, Any]]] = field(default_factory=list)
    duplicate: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
