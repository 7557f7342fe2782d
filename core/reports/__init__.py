"""Report data objects: plain dataclasses that `exports` renders without touching the database."""
