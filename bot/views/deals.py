"""Deals: the list of my open deals, one deal with stage buttons, won and lost."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton as Button

from bot.callbacks import ContactCb, DealCb, DocCb
from bot.i18n import Texts
from bot.views.format import Screen, button_text, esc, markup, money
from core.deals.models import Deal, PipelineStage


def amount_text(deal: Deal, locale: str = "ru") -> str:
    return "" if deal.amount is None else money(deal.amount, deal.currency, locale)


def deal_screen(
    t: Texts, deal: Deal, stages: Sequence[PipelineStage], documents: int = 0
) -> Screen:
    names = {s.code: s.name for s in stages}
    lines = [
        f"💼 <b>{esc(deal.title)}</b>",
        t("deal-stage", stage=esc(names.get(deal.stage, deal.stage))),
    ]
    if deal.amount is not None:
        lines.append(t("deal-amount", amount=amount_text(deal, t.locale)))
    if deal.lost_reason:
        lines.append(t("deal-lost-reason", reason=esc(deal.lost_reason[:300])))
    rows: list[list[Button]] = []
    if deal.closed_at is None:
        open_stages = [s for s in stages if s.outcome == "open" and s.code != deal.stage]
        for i in range(0, len(open_stages), 2):
            rows.append(
                [
                    Button(
                        text=button_text(s.name),
                        callback_data=DealCb(action="stage", id=deal.id, stage=s.code).pack(),
                    )
                    for s in open_stages[i : i + 2]
                ]
            )
        rows.append(
            [
                Button(text=t("btn-won"), callback_data=DealCb(action="won", id=deal.id).pack()),
                Button(text=t("btn-lost"), callback_data=DealCb(action="lost", id=deal.id).pack()),
            ]
        )
    if deal.contact_id is not None:
        rows.append(
            [
                Button(
                    text=t("btn-card"),
                    callback_data=ContactCb(action="open", id=deal.contact_id).pack(),
                )
            ]
        )
    rows.append(
        [
            Button(
                text=t("btn-documents", count=documents),
                callback_data=DocCb(action="list", kind="d", id=deal.id).pack(),
            )
        ]
    )
    return Screen("\n".join(lines), markup(rows))


def my_deals(
    t: Texts, deals: Sequence[Deal], total: int, stages: Sequence[PipelineStage] = ()
) -> Screen:
    """My open deals as buttons: title, the stage by its name, the amount."""
    if not deals:
        return Screen(t("deals-none"))
    names = {s.code: s.name for s in stages}
    rows = [
        [
            Button(
                text=button_text(
                    f"{d.title} · {names.get(d.stage, d.stage)}"
                    + (f" · {amount_text(d, t.locale)}" if d.amount else "")
                ),
                callback_data=DealCb(action="open", id=d.id).pack(),
            )
        ]
        for d in deals
    ]
    return Screen(t("deals-mine", count=total), markup(rows))
