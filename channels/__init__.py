"""Channels: one module per channel (web, app, …), all converting to the hub's one message model."""
