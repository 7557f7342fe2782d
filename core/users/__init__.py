"""Users (the team), invites, roles and API keys."""
