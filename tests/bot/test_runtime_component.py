"""`perezvon run` and the bot component: what is skipped and why, the bot alone, its settings."""

from __future__ import annotations

import httpx
import pytest

from app import bot_component, commands
from app.settings import Settings, SettingsError, load_settings
from app.wiring import Container
from tests.bot.updates import message_update, tg_user
from tests.fakes.telegram_api import TOKEN, FakeTelegram


def test_run_with_only_the_bot_and_no_token_says_what_it_skipped(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = commands.run(
        Settings(database_url=database_url), components=["bot"], host=None, port=None
    )

    out, err = capsys.readouterr()
    assert code == 1
    assert "bot skipped: PEREZVON_TELEGRAM_TOKEN is not set" in out
    assert "nothing to run" in err


async def test_webhook_mode_without_a_public_url_is_skipped_with_the_reason(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(
        database_url=database_url,
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_mode="webhook",
    )
    container = Container.build(settings)
    try:
        assert bot_component.build(container) is None
    finally:
        await container.dispose()

    assert "PEREZVON_PUBLIC_URL" in capsys.readouterr().out


def test_a_webhook_secret_outside_telegrams_alphabet_is_a_settings_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PEREZVON_TELEGRAM_WEBHOOK_SECRET", "not allowed!")

    with pytest.raises(SettingsError, match="PEREZVON_TELEGRAM_WEBHOOK_SECRET"):
        load_settings()


@pytest.mark.usefixtures("engine")
async def test_the_bot_alone_in_webhook_mode_serves_only_its_webhook_and_health(
    fake_tg: FakeTelegram, database_url: str
) -> None:
    settings = Settings(
        database_url=database_url,
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=fake_tg.url,
        telegram_mode="webhook",
        public_url="https://bot.example.com",
    )
    container = Container.build(settings)
    bot = bot_component.build(container)
    assert bot is not None
    app = bot_component.bot_only_app(container, bot)
    assert app is not None
    secret = bot.runtime.options.secret  # none configured: derived from the token
    async with app.router.lifespan_context(app):
        await bot.runtime.wait_ready(within=5)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            health = await client.get("/healthz")
            pbx = await client.post("/webhooks/generic", json={})
            update = {"update_id": 77, **message_update(tg_user(31337), "/start")}
            handled = await client.post(
                "/telegram/webhook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": secret},
            )

    assert (health.status_code, pbx.status_code, handled.status_code) == (200, 404, 200)
    assert fake_tg.webhook is not None and fake_tg.webhook["secret_token"] == secret
    assert [c.chat_id for c in fake_tg.sent("sendMessage")] == [31337]


@pytest.mark.usefixtures("engine")
async def test_an_invite_prints_the_deep_link_when_the_bot_is_known(
    fake_tg: FakeTelegram, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(
        database_url=database_url,
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=fake_tg.url,
    )

    assert await commands.users_invite(settings, role="sales", name=None) == 0

    lines = capsys.readouterr().out.splitlines()
    code = lines[-1]
    assert f"open: https://t.me/{fake_tg.username}?start={code}" in lines
