"""The organizer console's pages: dashboard and settings, contacts, the operation wizard,
failed jobs."""
