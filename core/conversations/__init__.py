"""Client conversations in Telegram: who the client is, what they wrote, what we answered.

Modules: `clients` (contact and conversation for a Telegram user, the timeline of what they
wrote), `outgoing` (`send_to_client`: a message to a client through the outbox), `delivery`
(what the outbox's sends and failures mean for the timeline and the relays), `relay`
(client messages shown to staff, answers by reply), `routing` (who gets a new client),
`hours` (working hours), `sla` (the "reply to the client" task), `inbound` (the company
bot's use case for one client message), `texts` (words to clients an admin may edit).
"""
