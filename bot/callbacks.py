"""Callback data factories: ids and short codes only (Telegram allows 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class ContactCb(CallbackData, prefix="c"):
    """A contact card action: open, timeline (page), note, plan, deal, calls, edit, owner…"""

    action: str
    id: int
    page: int = 0


class SearchCb(CallbackData, prefix="s"):
    """A page of the last search (the query itself lives in the FSM data)."""

    page: int


class NewContactCb(CallbackData, prefix="n"):
    """Create a contact for an unknown number (digits of the E.164 number)."""

    phone: str


class EditCb(CallbackData, prefix="e"):
    """Edit one field of a contact."""

    id: int
    field: str


class OwnerCb(CallbackData, prefix="o"):
    """Give a contact to a user (managers)."""

    id: int
    user_id: int


class ActivityCb(CallbackData, prefix="a"):
    """Done, snooze (minutes, or -1 for tomorrow 9:00), reschedule (move), open, back,
    rename (ren), delete (del asks, delok cancels the activity)."""

    action: str
    id: int
    minutes: int = 0


class NoteCb(CallbackData, prefix="nt"):
    """A note: open, edit, del (ask), delok (confirmed), file (send its voice or photo back)."""

    action: str
    id: int


class PlanCb(CallbackData, prefix="p"):
    """A quick due time for the activity being planned (minutes from now; -1: tomorrow 10)."""

    minutes: int


class CallCb(CallbackData, prefix="k"):
    """Post-call prompt: an outcome, add note, plan next."""

    action: str
    id: int
    outcome: str = ""


class DealCb(CallbackData, prefix="d"):
    """A deal action: open, stage (code), won, lost."""

    action: str
    id: int
    stage: str = ""


class TeamCb(CallbackData, prefix="t"):
    """Admin team actions on a user: open, role (code), deactivate, extension."""

    action: str
    user_id: int
    role: str = ""


class LangCb(CallbackData, prefix="l"):
    locale: str


class DigestCb(CallbackData, prefix="g"):
    """Digest subscriptions: subscribe to a period (at an hour), or stop all."""

    action: str
    period: str = ""
    hour: int = 0


class ReportCb(CallbackData, prefix="r"):
    """A report period picked: yesterday, this_week, last_week, this_month, last_month."""

    period: str


class ImportCb(CallbackData, prefix="i"):
    """The contacts import being previewed: apply, cancel, or a policy for existing contacts.

    `key` names the previewed file, so the buttons of an older preview go stale.
    """

    action: str
    key: str
    policy: str = ""


class EscalationCb(CallbackData, prefix="x"):
    """A manager on an overdue callback: remind the owner, pick someone, give it to them, take."""

    action: str
    id: int
    user_id: int = 0


class DialogCb(CallbackData, prefix="z"):
    """A prompt's Cancel; and, for a menu button pressed mid-dialog, drop or keep it."""

    action: str  # cancel | drop | keep


class DocCb(CallbackData, prefix="dc"):
    """Documents: a card's list (`kind` c: contact, d: deal; `id` the card; `page`), or one
    document sent back (`get`, `id` the document)."""

    action: str  # list | get
    id: int
    kind: str = "c"
    page: int = 0


class ClientCb(CallbackData, prefix="cc"):
    """A relayed client message's button: open the card (id: the contact; message: the
    relayed chat message, so a reply to it finds the client before the relay is recorded)."""

    action: str
    id: int
    message: int


class BusinessCb(CallbackData, prefix="b"):
    """A Telegram Business chat: off (stop logging it) or on; `view` is where the button is:
    n (the new-chat notice) or l (the /business list)."""

    action: str
    id: int
    view: str = "n"


class FindCb(CallbackData, prefix="fd"):
    """A page of /find results (the query is kept in the FSM data)."""

    page: int
