"""The bot's @username for `perezvon users invite` links: one bounded getMe, one line of why not.

1. Without a token there is no name to ask for: say which setting to set.
2. Ask `getMe` once over plain HTTP (httpx, no aiogram: it would cost the command seconds of
   import), bounded as a whole by `LOOKUP_SECONDS`, so an unreachable Telegram costs the
   admin a few seconds, never a silent wait.
3. Whatever answers, return either the username or one line naming the cause (a timeout,
   no connection, the token refused, an HTML error page); never the token, never a traceback.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.settings import Settings

LOOKUP_SECONDS = 3.0
USERNAME = re.compile(r"[A-Za-z0-9_]{3,64}")


async def bot_username(settings: Settings) -> tuple[str | None, str]:
    """(the bot's username, "") or (None, one line saying why it is not known)."""
    if settings.telegram_token is None:
        return None, "PEREZVON_TELEGRAM_TOKEN is not set, so the bot's name is unknown"
    import httpx

    base = settings.telegram_api_url.rstrip("/")
    url = f"{base}/bot{settings.telegram_token.get_secret_value()}/getMe"
    where = f"Telegram at {base}"
    # Like the bot's own client (aiogram), no proxy from the environment.
    try:
        async with httpx.AsyncClient(timeout=LOOKUP_SECONDS, trust_env=False) as http:
            response = await asyncio.wait_for(http.get(url), LOOKUP_SECONDS)
    except (TimeoutError, httpx.TimeoutException):
        return None, f"{where} did not answer within {LOOKUP_SECONDS:g} s"
    except httpx.HTTPError as exc:  # its text may hold the URL, and so the token: not shown
        return None, f"cannot reach {where} ({type(exc).__name__}); check PEREZVON_TELEGRAM_API_URL"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("ok") and isinstance(body.get("result"), dict):
        username = str(body["result"].get("username") or "")
        if USERNAME.fullmatch(username):
            return username, ""
    if response.status_code in (401, 404):
        return (
            None,
            f"{where} refused the token ({response.status_code}): check PEREZVON_TELEGRAM_TOKEN",
        )
    if not isinstance(body, dict):
        return (
            None,
            f"{where} answered {response.status_code} with a page that is not the Bot API's",
        )
    detail = " ".join(str(body.get("description") or "").split())[:120]
    return None, f"{where} answered {response.status_code}{': ' + detail if detail else ''}"
