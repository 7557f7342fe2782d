"""`perezvon run` and the bot component: what is skipped and why, the bot alone, its settings."""

from __future__ import annotations

import httpx
import pytest

from app import commands, components
from app.cli import main
from app.settings import Settings, SettingsError, load_settings
from app.wiring import Container
from tests.bot.updates import message_update, tg_user
from tests.fakes.telegram_api import TOKEN, FakeTelegram


def test_run_with_only_the_bot_and_no_token_stops_with_the_setting_to_set(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PEREZVON_DATABASE_URL", database_url)
    monkeypatch.delenv("PEREZVON_TELEGRAM_TOKEN", raising=False)

    code = main(["run", "--components", "bot"])

    assert code == 2
    assert "component bot cannot run: set PEREZVON_TELEGRAM_TOKEN" in capsys.readouterr().err


def test_webhook_mode_without_a_public_url_is_skipped_with_the_reason() -> None:
    settings = Settings(
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_mode="webhook",
    )
    chosen, skipped = components.select(settings, None)

    assert "bot" not in [c.name for c in chosen]
    assert ("bot", "PEREZVON_TELEGRAM_MODE=webhook needs PEREZVON_PUBLIC_URL") in skipped


def test_a_webhook_secret_outside_telegrams_alphabet_is_a_settings_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PEREZVON_TELEGRAM_WEBHOOK_SECRET", "not allowed!")

    with pytest.raises(SettingsError, match="PEREZVON_TELEGRAM_WEBHOOK_SECRET"):
        load_settings()


@pytest.mark.usefixtures("engine")
async def test_the_bot_component_in_webhook_mode_mounts_its_webhook_beside_health(
    fake_tg: FakeTelegram, database_url: str
) -> None:
    settings = Settings(
        database_url=database_url,
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=fake_tg.url,
        telegram_mode="webhook",
        public_url="https://bot.example.com",
    )
    [bot] = components.select(settings, ["bot"])[0]
    container = Container.build(settings)
    app = container.http_app([bot])
    async with app.router.lifespan_context(app):
        built = bot._built  # type: ignore[attr-defined]
        await built.runtime.wait_ready(within=5)
        secret = built.runtime.options.secret  # none configured: derived from the token
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            health = await client.get("/healthz")
            update = {"update_id": 77, **message_update(tg_user(31337), "/start")}
            handled = await client.post(
                "/telegram/webhook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": secret},
            )

    assert (health.status_code, handled.status_code) == (200, 200)
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
