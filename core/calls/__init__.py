"""Calls: PBX events applied to calls, missed calls turned into callback tasks, escalations."""
