"""Bus events: every registered event class round-trips through the wire as the pages read it, the registry
refuses a second class for one type name, and wire objects that are no known event are refused."""
from __future__ import annotations

import json
from typing import ClassVar

import pytest

import agent_console.events as console_events
import conversations.events as conversation_events
import core.bus  # noqa: F401  (registers Resync)
from core import events as core_events
from core.events import REGISTRY, DuplicateEventType, Event, Registry, WireError

# One wire object per event type, as the console page (agent_console/static/*.js) and the citizen page
# (channels/static/chat.js) receive it. A new event class needs an example here.
MESSAGE = {"id": 7, "conversation_id": "c1", "channel": "web", "direction": "out", "author": "bot", "text": "您好",
           "payload": {}, "created_at": "2026-01-05T08:00:00+00:00"}
EXAMPLES: list[dict] = [
    {"type": "message", "message": MESSAGE},
    {"type": "typing"},
    {"type": "citizen_typing"},
    {"type": "agent_typing", "agent_name": "客服 0123 王"},
    {"type": "resync"},
    {"type": "status", "status": "bot"},
    {"type": "claimed", "agent_id": 3, "agent_name": "王芳", "agent_phone": None},
    {"type": "delivery_failed", "channel": "wechat", "message_id": 7, "errcode": 45015,
     "reachable": [{"kind": "phone", "label": "电话", "value": "138****5678"}], "notice_id": 8},
    {"type": "pool.added", "item": {"conversation_id": "c1", "handoff_id": 1, "preview": "转人工"}},
    {"type": "pool.removed", "conversation_id": "c1", "reason": "claimed", "agent_id": 3},
    {"type": "pool.removed", "conversation_id": "c1", "reason": "left"},
    {"type": "tickets.changed", "ticket": {"ticket_id": 4, "state": "open"}},
    {"type": "tickets.changed", "ticket": {"ticket_id": 4, "state": "claimed", "agent_id": 3}},
    {"type": "assigned", "conversation_id": "c1", "how": "transfer", "note": "请协助", "by": "客服李强"},
    {"type": "released", "conversation_id": "c1", "reason": "finished"},
    {"type": "duty", "agent_id": 3, "reason": None, "state": "on_duty", "shift_id": 5, "minutes": 60,
     "requested_at": "2026-01-05T08:00:00+00:00", "started_at": "2026-01-05T08:00:00+00:00",
     "ends_at": "2026-01-05T09:00:00+00:00"},
    {"type": "duty", "agent_id": 3, "reason": "expired", "state": "off", "shift_id": None, "minutes": None,
     "ends_at": None},
    {"type": "alert", "kind": "escalated", "conversation_id": "c1", "waited_s": 95, "assigned_to": None,
     "message": "会话等待95秒无人接入，且没有空闲客服，请安排处理。"},
    {"type": "stats.changed"},
]


def _product_types() -> set[str]:
    modules = {conversation_events.__name__, console_events.__name__, "core.bus"}
    return {name for name in REGISTRY.names() if REGISTRY.get(name).__module__ in modules}


def test_every_event_type_has_an_example():
    assert _product_types() == {example["type"] for example in EXAMPLES}


@pytest.mark.parametrize("wire", EXAMPLES, ids=lambda wire: wire["type"])
def test_every_event_round_trips_through_the_wire_unchanged(wire):
    event = Event.from_wire(wire)
    assert type(event) is REGISTRY.get(wire["type"]) and event.type == wire["type"]
    assert event.to_wire() == wire
    # Through Redis: JSON with the topic beside the fields, back to an equal event that knows its topic.
    sent = json.dumps({"topic": "conversation:c1", **event.to_wire()}, ensure_ascii=False)
    back = Event.from_wire(json.loads(sent))
    assert back.topic == "conversation:c1" and back.to_wire() == wire and back.delivered_on("") == event


def test_events_are_frozen_and_the_topic_stays_off_the_wire():
    event = console_events.Released(conversation_id="c1", reason="left").delivered_on("console:agent:3")
    with pytest.raises(ValueError):
        event.reason = "finished"
    assert "topic" not in event.to_wire()


def test_the_registry_refuses_a_second_class_for_one_type_name(monkeypatch):
    assert REGISTRY.get("pool.added") is console_events.PoolAdded
    with pytest.raises(DuplicateEventType, match="pool.added"):
        class Impostor(Event):
            type: ClassVar[str] = "pool.added"
    assert REGISTRY.get("pool.added") is console_events.PoolAdded

    monkeypatch.setattr(core_events, "REGISTRY", Registry())  # a registry of its own: nothing left behind

    class First(Event):
        type: ClassVar[str] = "test.twice"

    with pytest.raises(DuplicateEventType):
        class Second(Event):
            type: ClassVar[str] = "test.twice"
    assert core_events.REGISTRY.get("test.twice") is First


@pytest.mark.parametrize("wire", [
    {"type": "no.such.event"},
    {"no": "type"},
    ["type", "typing"],
    "typing",
    {"type": "released", "conversation_id": "c1"},                # a field missing
    {"type": "assigned", "conversation_id": ["c1"], "how": "grab"},  # a field of the wrong kind
])
def test_wire_objects_that_are_no_known_event_are_refused(wire):
    with pytest.raises(WireError):
        Event.from_wire(wire)
