"""Database drivers for the hot paths, beside the domain rather than in it.

- `sqlite_inline`: SQLite on the event loop's own thread, for the inbox processor's many
  short statements (core.db builds its engine).
- `phone_lookup`: the caller look-up statement on a dedicated connection (webhooks).

They know SQL and drivers (sqlite3, asyncpg); what they ask comes from the services
(`core.contacts.service.LOOKUP_PHONE_SQL`), so the rules stay in one place.
"""
