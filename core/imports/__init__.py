"""Spreadsheet data objects for contact import and export (no database, no file formats)."""
