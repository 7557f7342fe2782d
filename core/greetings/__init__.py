"""Birthday and holiday greetings and their texts."""
