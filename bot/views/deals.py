"""Deals: the list of my open deals, one deal with stage buttons, won and lost."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton as Button

from bot.callbacks import ContactCb, DealCb
from bot.i18n import Texts
from bot.views.format import Screen, button_text, esc, markup
from core.models.work import Deal, PipelineStage


def amount_text(deal: Deal) -> str:
    if deal.amount is None:
        return ""
    return f"{deal.amount:,.2f}".replace(",", " ").removesuffix(".00") + f" {deal.currency}"


def deal_screen(t: Texts, deal: Deal, stages: Sequence[PipelineStage]) -> Screen:
    names = {s.code: s.name for s in stages}
    lines = [
        f"💼 <b>{esc(deal.title)}</b>",
        t("deal-stage", stage=esc(names.get(deal.stage, deal.stage))),
    ]
    if deal.amount is not None:
        lines.append(t("deal-amount", amount=amount_text(deal)))
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
    return Screen("\n".join(lines), markup(rows))


def my_deals(t: Texts, deals: Sequence[Deal], total: int) -> Screen:
    if not deals:
        return Screen(t("deals-none"))
    rows = [
        [
            Button(
                text=button_text(
                    f"{d.title} · {d.stage}" + (f" · {amount_text(d)}" if d.amount else "")
                ),
                callback_data=DealCb(action="open", id=d.id).pack(),
            )
        ]
        for d in deals
    ]
    return Screen(t("deals-mine", count=total), markup(rows))
