"""Conversations with clients: the company bot and Business chats, orders, the timeline."""
