"""The contact card: what a salesperson sees first (bot card, screen pop)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select

from core.activities.models import Activity
from core.calls.models import Call
from core.contacts.models import Company, Contact
from core.contacts.service import get_contact_for_work
from core.context import Actor, Ctx
from core.deals.models import Deal, PipelineStage
from core.documents.service import count_documents
from core.notes.models import Note
from core.users.models import User

OPEN_DEALS_SHOWN = 3


@dataclass(frozen=True)
class ContactCard:
    contact: Contact
    company_name: str | None
    owner: User | None
    last_interaction: datetime | None
    open_deals: list[Deal]
    next_activity: Activity | None
    stage_names: dict[str, str] = field(default_factory=dict)  # stage code -> its name
    documents: int = 0  # files on the card (its deals' included)


async def contact_card(ctx: Ctx, *, actor: Actor, contact_id: int) -> ContactCard:
    """A contact the actor may see, with its owner, last touch, open deals and next step."""
    contact = await get_contact_for_work(ctx, actor=actor, contact_id=contact_id)
    owner = await ctx.session.get(User, contact.owner_id) if contact.owner_id else None
    # By id, not `contact.company`: a contact made in this session has no loaded relationship.
    company = await ctx.session.get(Company, contact.company_id) if contact.company_id else None
    last_note = await ctx.session.scalar(
        select(func.max(Note.created_at)).where(Note.contact_id == contact.id)
    )
    last_call = await ctx.session.scalar(
        select(func.max(Call.started_at)).where(Call.contact_id == contact.id)
    )
    touches = [t for t in (last_note, last_call) if t is not None]
    deals = await ctx.session.scalars(
        select(Deal)
        .where(Deal.contact_id == contact.id, Deal.closed_at.is_(None))
        .order_by(Deal.id.desc())
        .limit(OPEN_DEALS_SHOWN)
    )
    next_activity = await ctx.session.scalar(
        select(Activity)
        .where(Activity.contact_id == contact.id, Activity.status == "planned")
        .order_by(Activity.due_at.is_(None), Activity.due_at, Activity.id)
        .limit(1)
    )
    return ContactCard(
        contact=contact,
        company_name=company.name if company else None,
        owner=owner,
        last_interaction=_as_aware(max(touches)) if touches else None,
        open_deals=list(deals),
        next_activity=next_activity,
        stage_names=dict(
            (await ctx.session.execute(select(PipelineStage.code, PipelineStage.name)))
            .tuples()
            .all()
        ),
        documents=await count_documents(ctx, contact_id=contact.id),
    )


def _as_aware(value: datetime) -> datetime:
    """func.max() bypasses the UTC column type on SQLite: the value comes back naive UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
