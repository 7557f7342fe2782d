"""The open card is kept beside the dialog state in Redis: dialog keys stay as they were
(no state is lost on upgrade), the open card gets a key of its own."""

from __future__ import annotations

from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey

from bot.runtime import FsmKeys


def test_dialog_keys_are_unchanged_and_the_open_card_has_its_own() -> None:
    dialog = StorageKey(bot_id=1, chat_id=42, user_id=42)
    card = StorageKey(bot_id=1, chat_id=42, user_id=42, destiny="open_card")
    keys = FsmKeys(prefix="perezvon:fsm")
    assert keys.build(dialog, "data") == DefaultKeyBuilder(prefix="perezvon:fsm").build(
        dialog, "data"
    )
    assert keys.build(card, "data") == "perezvon:fsm:42:42:open_card:data"
    assert keys.build(card, "data") != keys.build(dialog, "data")
