"""Who may see and change what: the one access policy every service and adapter asks.

1. Managers, admins, the system and integration keys see everything (`Actor.sees_all`).
2. A salesperson under `VISIBILITY=all` sees everything too; under `VISIBILITY=own` they see
   what they own and what nobody owns: contacts by the contact's owner, deals and activities
   by their own owner (a deal of someone else's client is theirs if they own the deal).
3. A call is seen by the person whose extension took it, and by whoever may see its contact.
   The call belongs to whoever took it: for `CALL_TAKER_DAYS` after a call rang at their
   extension, its taker may open the client's card, add notes and plan the next step, even
   when VISIBILITY=own hides the client from them (`workable_contact`), and its documents
   (`may_read_document`, `document_clause`); editing, giving away and deleting the client
   stay with those who see it.
4. Seeing is enough to work on a thing (a note, an activity, a stage move); giving a thing
   to someone else, deleting or merging a contact needs its owner or a manager (`may_manage`).
5. Monthly sales targets are set by managers and admins; a salesperson reads their own.
A hidden object is reported as missing (NotFound), never as forbidden, so ids do not leak.
Each rule has a predicate for one loaded object and an SQL condition for lists, built from
the same switch, so a list never shows what a read would refuse (tests/core/test_access.py).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from core.activities.models import Activity
from core.calls.models import Call
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.conversations.models import Conversation
from core.deals.models import Deal
from core.documents.models import Document
from core.errors import NotFound
from core.targets.models import SalesTarget

# Long enough to log a call, follow up and call back; short enough that one answered call
# does not open a colleague's client list for good.
CALL_TAKER_DAYS = 7


def sees_everything(ctx: Ctx, actor: Actor) -> bool:
    """True for managers, admins and keys, and for everyone under VISIBILITY=all."""
    return actor.sees_all or ctx.config.visibility == "all"


def _owned(ctx: Ctx, actor: Actor, owner_id: int | None) -> bool:
    return sees_everything(ctx, actor) or owner_id is None or owner_id == actor.user_id


def _owned_clause(
    ctx: Ctx, actor: Actor, column: InstrumentedAttribute[int | None]
) -> ColumnElement[bool]:
    if sees_everything(ctx, actor):
        return true()
    return or_(column == actor.user_id, column.is_(None))


def may_see_contact(ctx: Ctx, actor: Actor, contact: Contact) -> bool:
    """May this actor see this contact (a live one: deleted contacts are checked apart)."""
    return _owned(ctx, actor, contact.owner_id)


def contact_clause(ctx: Ctx, actor: Actor) -> ColumnElement[bool]:
    """SQL condition: the contacts this actor may see."""
    return _owned_clause(ctx, actor, Contact.owner_id)


def may_see_deal(ctx: Ctx, actor: Actor, deal: Deal) -> bool:
    """May this actor see (and so work on) this deal."""
    return _owned(ctx, actor, deal.owner_id)


def deal_clause(ctx: Ctx, actor: Actor) -> ColumnElement[bool]:
    """SQL condition: the deals this actor may see."""
    return _owned_clause(ctx, actor, Deal.owner_id)


def may_see_activity(ctx: Ctx, actor: Actor, activity: Activity) -> bool:
    """May this actor see (and so work on) this activity."""
    return _owned(ctx, actor, activity.owner_id)


def activity_clause(ctx: Ctx, actor: Actor) -> ColumnElement[bool]:
    """SQL condition: the activities this actor may see."""
    return _owned_clause(ctx, actor, Activity.owner_id)


def may_see_call(ctx: Ctx, actor: Actor, call: Call, contact: Contact | None) -> bool:
    """May this actor see this call: theirs by extension, or its contact is visible."""
    if sees_everything(ctx, actor) or call.user_id == actor.user_id:
        return True
    return (
        contact is not None and contact.deleted_at is None and may_see_contact(ctx, actor, contact)
    )


def call_clause(ctx: Ctx, actor: Actor) -> ColumnElement[bool]:
    """SQL condition: the calls this actor may see."""
    if sees_everything(ctx, actor):
        return true()
    visible = select(Contact.id).where(contact_clause(ctx, actor))
    return or_(Call.user_id == actor.user_id, Call.contact_id.in_(visible))


def may_see_document(ctx: Ctx, actor: Actor, contact: Contact | None, deal: Deal | None) -> bool:
    """A document is seen by whoever may see its contact or its deal (a live contact); one
    on neither (an import's "Unsorted") by managers and admins only."""
    if actor.sees_all:
        return True
    if contact is None and deal is None:
        return False
    if sees_everything(ctx, actor):
        return True
    if contact is not None and contact.deleted_at is None and may_see_contact(ctx, actor, contact):
        return True
    return deal is not None and may_see_deal(ctx, actor, deal)


async def may_read_document(
    ctx: Ctx, actor: Actor, contact: Contact | None, deal: Deal | None
) -> bool:
    """`may_see_document`, and the call-taker's days (rule 3): a colleague whose extension
    took the contact's call lately may open the card and so its documents."""
    if may_see_document(ctx, actor, contact, deal):
        return True
    return (
        contact is not None
        and contact.deleted_at is None
        and await took_a_call_from(ctx, actor, contact.id)
    )


def document_clause(ctx: Ctx, actor: Actor) -> ColumnElement[bool]:
    """SQL condition: the documents this actor may see (the same rule as may_read_document)."""
    if actor.sees_all:
        return true()
    attached = or_(Document.contact_id.is_not(None), Document.deal_id.is_not(None))
    if sees_everything(ctx, actor):
        return attached
    contacts = select(Contact.id).where(Contact.deleted_at.is_(None), contact_clause(ctx, actor))
    deals = select(Deal.id).where(deal_clause(ctx, actor))
    visible = [Document.contact_id.in_(contacts), Document.deal_id.in_(deals)]
    if actor.user_id is not None:
        taken = select(Call.contact_id).where(*_taken_by(ctx, actor))
        live = select(Contact.id).where(Contact.deleted_at.is_(None), Contact.id.in_(taken))
        visible.append(Document.contact_id.in_(live))
    return or_(*visible)


def may_manage(actor: Actor, owner_id: int | None) -> bool:
    """May this actor give away, delete or merge a thing with this owner (owner or manager)."""
    return actor.sees_all or (owner_id is not None and owner_id == actor.user_id)


def may_assign(actor: Actor, owner_id: int | None) -> bool:
    """May this actor make `owner_id` the owner of something (themselves, or a manager)."""
    return actor.sees_all or owner_id is None or owner_id == actor.user_id


def visible_contact(ctx: Ctx, actor: Actor, contact: Contact | None, contact_id: int) -> Contact:
    """The contact, or NotFound when it is missing, deleted or not this actor's to see."""
    if (
        contact is None
        or contact.deleted_at is not None
        or not may_see_contact(ctx, actor, contact)
    ):
        raise NotFound(f"contact {contact_id} not found")
    return contact


def visible_deal(ctx: Ctx, actor: Actor, deal: Deal | None, deal_id: int) -> Deal:
    """The deal, or NotFound when it is missing or not this actor's to see."""
    if deal is None or not may_see_deal(ctx, actor, deal):
        raise NotFound(f"deal {deal_id} not found")
    return deal


def visible_activity(
    ctx: Ctx, actor: Actor, activity: Activity | None, activity_id: int
) -> Activity:
    """The activity, or NotFound when it is missing or not this actor's to see."""
    if activity is None or not may_see_activity(ctx, actor, activity):
        raise NotFound(f"activity {activity_id} not found")
    return activity


async def took_a_call_from(ctx: Ctx, actor: Actor, contact_id: int) -> bool:
    """Did a call with this contact ring at the actor's extension within CALL_TAKER_DAYS."""
    if actor.user_id is None:
        return False
    found = await ctx.session.scalar(
        select(Call.id).where(Call.contact_id == contact_id, *_taken_by(ctx, actor)).limit(1)
    )
    return found is not None


def _taken_by(ctx: Ctx, actor: Actor) -> tuple[ColumnElement[bool], ...]:
    """The calls that rang at the actor's extension within CALL_TAKER_DAYS."""
    since = ctx.clock.now() - timedelta(days=CALL_TAKER_DAYS)
    return (Call.user_id == actor.user_id, Call.started_at >= since)


async def workable_contact(
    ctx: Ctx, actor: Actor, contact: Contact | None, contact_id: int
) -> Contact:
    """The contact to read and log work on: visible, or its call lately taken by the actor."""
    if contact is None or contact.deleted_at is not None:
        raise NotFound(f"contact {contact_id} not found")
    if may_see_contact(ctx, actor, contact) or await took_a_call_from(ctx, actor, contact.id):
        return contact
    raise NotFound(f"contact {contact_id} not found")


def may_set_targets(actor: Actor) -> bool:
    """Monthly sales targets are set by managers, admins and the system."""
    return actor.sees_all


def may_see_targets(actor: Actor, user_id: int) -> bool:
    """Everyone's targets for managers; a salesperson's own for them."""
    return actor.sees_all or user_id == actor.user_id


def targets_clause(actor: Actor) -> ColumnElement[bool]:
    """The targets an actor may read, as `may_see_targets` decides for one."""
    if actor.sees_all:
        return true()
    return SalesTarget.user_id == actor.user_id


def may_see_conversation(
    ctx: Ctx, actor: Actor, contact: Contact, conversation: Conversation | None = None
) -> bool:
    """May this actor see a client conversation (and its messages): whoever sees its contact;
    and, as for calls, the salesperson whose own Business chat it is."""
    if (
        conversation is not None
        and conversation.user_id is not None
        and conversation.user_id == actor.user_id
    ):
        return True
    return contact.deleted_at is None and may_see_contact(ctx, actor, contact)


def conversation_clause(ctx: Ctx, actor: Actor) -> ColumnElement[bool]:
    """SQL condition: the conversations this actor may see (by their contact, or their own
    Business chats)."""
    visible = select(Contact.id).where(contact_clause(ctx, actor), Contact.deleted_at.is_(None))
    by_contact = Conversation.contact_id.in_(visible)
    if actor.user_id is None:
        return by_contact
    return or_(Conversation.user_id == actor.user_id, by_contact)
