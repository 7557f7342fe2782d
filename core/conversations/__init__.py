"""Conversations with clients in Telegram (the company bot, salespeople's Business chats)."""
