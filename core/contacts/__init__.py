"""Contacts and companies: the card, search, the PBX look-up, upserts, consent, export."""
