## Telegram Business: a salesperson's own chats, logged (bot/handlers/business.py)
business-connected =
    💼 Telegram Business is connected: your chats with clients are logged on their cards, both ways.
    The bot never writes on your behalf. /business lists the chats; you can stop logging any of them.
business-disconnected = 💼 Telegram Business is off: your chats are no longer logged.
business-new-chat =
    💬 Your Telegram chat with <b>{ $client }</b> is now logged on the client's card.
    A private chat? Stop logging it: what was logged is deleted.
business-chat-excluded = 🚫 The chat with <b>{ $client }</b> is not logged; what was logged from it is deleted.
business-chat-included = ✅ The chat with <b>{ $client }</b> is logged again from now on.
btn-business-exclude = 🚫 Don't log this chat
btn-business-include = ✅ Log this chat
business-how-to =
    To log your Telegram chats with clients (Telegram Business):
    Telegram → Settings → Telegram Business → Chatbots → { $bot }, and choose the chats.
    The bot only reads: it never writes on your behalf.
business-status-active = 💼 Telegram Business: connected, your chats are logged.
business-status-disabled = 💼 Telegram Business: switched off, nothing is logged.
business-status-refused = 💼 Telegram Business: this account is not on the team, nothing is logged.
business-chats-head = Your chats (✅ logged, 🚫 not logged); tap one to switch it:
business-chats-none = No chats logged yet: they appear here after the first message.
err-business-chat-not-found = That chat is not one of yours.
