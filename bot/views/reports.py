"""Managers' spreadsheets in the bot: digest subscriptions, the report picker, import preview."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton as Button

from bot.callbacks import DigestCb, ImportCb, ReportCb
from bot.i18n import Texts
from bot.periods import REPORT_PERIODS
from bot.views.format import Screen, esc, markup
from core.models.system import DigestSubscription
from core.services.digests import PERIODS
from core.services.imports import POLICIES, ImportReport

DEFAULT_HOUR = 9


def digests(t: Texts, subscriptions: Sequence[DigestSubscription], timezone: str) -> Screen:
    """My digest subscriptions, with a button per period and one to stop them all."""
    hours = {s.period: s.local_hour for s in subscriptions}
    if subscriptions:
        lines = [t("digest-list", zone=esc(timezone))]
        lines += [
            "• " + t("digest-item", period=t("digest-" + s.period), hour=f"{s.local_hour:02d}")
            for s in subscriptions
        ]
    else:
        lines = [t("digest-none")]
    lines.append(t("digest-usage"))
    rows = [
        [
            Button(
                text=("✅ " if period in hours else "") + t("digest-" + period),
                callback_data=DigestCb(
                    action="sub", period=period, hour=hours.get(period, DEFAULT_HOUR)
                ).pack(),
            )
            for period in PERIODS
        ]
    ]
    if subscriptions:
        rows.append([Button(text=t("btn-digest-off"), callback_data=DigestCb(action="off").pack())])
    return Screen("\n".join(lines), markup(rows))


def report_picker(t: Texts) -> Screen:
    """Which period the sales digest workbook should cover."""
    buttons = [
        Button(text=t("report-" + code), callback_data=ReportCb(period=code).pack())
        for code in REPORT_PERIODS
    ]
    return Screen(t("report-which"), markup([buttons[:1], buttons[1:3], buttons[3:]]))


def import_preview(t: Texts, filename: str, report: ImportReport, policy: str, key: str) -> Screen:
    """What the import would do, with Apply / Cancel and the policy for existing contacts."""
    text = "\n".join(
        (
            t("import-preview", name=esc(filename), total=report.total),
            _counts(t, report),
            t("import-policy", policy=t("policy-" + policy)),
        )
    )
    rows = [
        [
            Button(
                text=("✅ " if code == policy else "") + t("policy-" + code),
                callback_data=ImportCb(action="policy", key=key, policy=code).pack(),
            )
            for code in POLICIES
        ],
        [
            Button(
                text=t("btn-import-apply"), callback_data=ImportCb(action="apply", key=key).pack()
            ),
            Button(
                text=t("btn-import-cancel"),
                callback_data=ImportCb(action="cancel", key=key).pack(),
            ),
        ],
    ]
    return Screen(text, markup(rows))


def import_done(t: Texts, filename: str, report: ImportReport) -> Screen:
    """The outcome of an applied import."""
    head = t("import-again" if report.already_done else "import-done", name=esc(filename))
    return Screen(head + "\n" + _counts(t, report))


def _counts(t: Texts, report: ImportReport) -> str:
    return t(
        "import-counts",
        new=report.new,
        updated=report.updated,
        duplicate=report.duplicate,
        rejected=report.rejected,
    )
