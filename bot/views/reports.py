"""Managers' spreadsheets in the bot: digest subscriptions, the report picker, import preview."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiogram.types import InlineKeyboardButton as Button

from bot.callbacks import DigestCb, ImportCb, ReportCb
from bot.i18n import Texts
from bot.periods import REPORT_PERIODS
from bot.views.format import Screen, esc, markup
from core.imports.service import POLICIES
from core.reports.digests import PERIODS
from core.reports.models import DigestSubscription

DEFAULT_HOUR = 9
Counts = dict[str, int]
# The import jobs' notification kinds (core/imports/jobs.py) rendered here.
IMPORT_NOTICES = ("import_preview", "import_done", "import_refused", "import_failed")
# The fields an import can change (core.imports.service lists them per contact).
CHANGED_FIELDS = (
    "name",
    "phones",
    "timezone",
    "owner",
    "email",
    "birthday",
    "source",
    "tags",
    "company",
    "comment",
)
COUNT_KEYS = ("total", "new", "updated", "duplicate", "rejected", "unchanged")


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


def _preview(
    t: Texts,
    filename: str,
    counts: Counts,
    policy: str,
    key: str,
    payload_changes: Sequence[Any] = (),
) -> Screen:
    """What the import would do, with Apply / Cancel and the policy for existing contacts."""
    text = "\n".join(
        (
            t("import-preview", name=esc(filename), total=counts["total"]),
            _counts(t, counts),
            *_changes(t, counts, payload_changes),
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
            # Apply carries the policy shown: what the user saw is what is applied.
            Button(
                text=t("btn-import-apply"),
                callback_data=ImportCb(action="apply", key=key, policy=policy).pack(),
            ),
            Button(
                text=t("btn-import-cancel"),
                callback_data=ImportCb(action="cancel", key=key).pack(),
            ),
        ],
    ]
    return Screen(text, markup(rows))


def _done(t: Texts, filename: str, counts: Counts, *, already_done: bool) -> Screen:
    """The outcome of an applied import."""
    head = t("import-again" if already_done else "import-done", name=esc(filename))
    return Screen(head + "\n" + _counts(t, counts))


def import_notice(t: Texts, kind: str, payload: Mapping[str, Any]) -> Screen | None:
    """The message of an import job's notification: preview, outcome, refusal or apology."""
    name = str(payload.get("filename") or "")
    counts: Counts = {key: _int(payload.get(key)) for key in COUNT_KEYS}
    if kind == "import_preview":
        policy = str(payload.get("policy") or "skip")
        policy = policy if policy in POLICIES else "skip"
        changes = payload.get("changes")
        listed = changes if isinstance(changes, list) else []
        return _preview(t, name, counts, policy, str(_int(payload.get("job_id"))), listed)
    if kind == "import_done":
        return _done(t, name, counts, already_done=bool(payload.get("already_done")))
    if kind == "import_refused":
        reason = str(payload.get("reason") or "")
        return Screen(t("import-refused", name=esc(name), reason=esc(reason)))
    if kind == "import_failed":
        return Screen(t("import-failed", name=esc(name), job=_int(payload.get("job_id"))))
    return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _changes(t: Texts, counts: Counts, listed: Sequence[Any]) -> list[str]:
    """Briefly, which contacts change and how: the first few, and how many are unchanged."""
    lines = [t("import-unchanged", count=_int(counts.get("unchanged")))]
    for item in listed[:10]:
        if isinstance(item, list | tuple) and len(item) == 3 and isinstance(item[2], list):
            fields = ", ".join(
                t("import-field-" + str(f)) if f in CHANGED_FIELDS else str(f) for f in item[2]
            )
            lines.append(t("import-change", row=_int(item[0]), id=_int(item[1]), fields=fields))
    more = counts["updated"] - min(len(listed), 10)
    if more > 0:
        lines.append(t("import-changes-more", count=more))
    return lines


def _counts(t: Texts, counts: Counts) -> str:
    return t(
        "import-counts",
        new=counts["new"],
        updated=counts["updated"],
        duplicate=counts["duplicate"],
        rejected=counts["rejected"],
    )
