"""Pure functions from domain objects to message text (HTML) and keyboards."""
