"""Perezvon's domain: models, services and the access policy; no web, bot or scheduler framework.

Transactions. One `AsyncSession` per HTTP request, Telegram update or job run, opened by the
edge (`Ctx`); the outermost use case owns its transaction and commits once at its end:

- A step that another service builds on adds to the caller's unit of work and never
  commits (`contacts.add_contact`, `calls.apply_to_call`, `outbox.enqueue`, `audit`).
  No service takes a flag saying whether to commit: the use case of a lone step is `use_case(step)`
  (core/use_case.py), e.g. `contacts.create_contact`, `calls.apply_event`.
- A handler, a route or a job calls one use case; it does not commit on a service's behalf.
- Work that settles many independent items (the inbox, the outbox, reminders, digests,
  background jobs) commits once per item or per batch: a claim is a unit of its own, so
  that other instances see it and a failure costs only its own item.
- Side effects that leave the process (Telegram, PBX) go through the outbox and happen
  after the commit; a commit that adds notifications wakes the sender.

Layout: a package per domain, each holding its tables (`models.py`), its service (`service.py`)
and the modules that belong to it: `contacts/` (cards, search, the PBX look-up, consent,
export), `calls/` (events, missed calls, escalations), `deals/`, `notes/`, `activities/` (tasks
and reminders), `conversations/` (clients in the chat, Telegram Business, orders),
`documents/`, `users/` (roles, invites, API keys, who is on duty), `greetings/`, `reports/`,
`targets/`, `imports/`, `inbox/` (the telephony inbox's lifecycle), `outbox/`, `jobs/`,
`telegram/` (update claims). Beside them: `access.py` (who may see what), `use_case.py` (the
one commit), `common.py` (pages, audit), `errors.py` (domain errors with codes), `models/`
(imports every domain's tables for Alembic and holds the audit log), `drivers/` (database
drivers of the hot paths), `migrations/` (Alembic).
"""
