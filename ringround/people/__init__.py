"""The contact base: import, merge, households, lists and filters, export, erasure."""
