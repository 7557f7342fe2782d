"""The outbox: side effects that leave the process (Telegram, PBX), sent after the commit."""
