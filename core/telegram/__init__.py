"""Telegram updates: each update claimed once, whichever instance receives it."""
