"""Users (the team), invites, roles, API keys and who is on duty."""
