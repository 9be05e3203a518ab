"""Citizen messages for tests that talk to the hub directly, built the way a channel's edge builds
them."""
from __future__ import annotations

from conversations.inbound import CitizenKey, Inbound
from conversations.models import Channel, Conversation


def said(conversation: Conversation, text: str, *, client_msg_id: str | None = None) -> Inbound:
    """`text` from the conversation's citizen on the conversation's channel (the hub reads the channel
    and the text; the citizen key names the citizen by id, as no channel identity is needed here)."""
    citizen = CitizenKey(conversation.channel, conversation.citizen_id)
    return Inbound(channel=Channel(conversation.channel), citizen=citizen, text=text, client_msg_id=client_msg_id)
