"""Shared plumbing: settings, database, event bus, errors, app assembly."""
