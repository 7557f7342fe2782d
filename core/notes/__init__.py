"""Notes on contacts and deals."""
