"""Activities (tasks, callbacks, meetings) and their reminders."""
