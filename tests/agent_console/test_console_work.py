"""An agent's work on SQLite and PostgreSQL: the handoff packet, replies, transfers, the hand-back (bot
resumed, rating asked and stored), callback tickets, "留言" from the queue, and flood control."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text, update

from agent_console import callbacks, claims, conversations, events
from agent_console.handoff import HandoffRefused, request_handoff
from agent_console.models import Assignment, CallbackTicket, Handoff, HandoffState, TicketState
from conversations.models import Author, ConversationStatus
from core.errors import ApiError
from staff.models import AuditEntry
from tests.agent_console.helpers import collect
from tests.messages import said


async def test_the_packet_has_transcript_intent_slots_channel_identity_history_and_reason(world):
    me = await world.agent("reader")
    earlier = await world.hub.open_conversation(channel="web", kind="app", value="packet-citizen")
    await world.hub.receive(earlier, said(earlier, "上次的问题"))
    conversation_id, _ = await world.ask_for_person(
        "packet-citizen", reason="failed_understanding", text="怎么还贷", intent="ask_loan",
        slots={"loan_years": 20.0, "home_kind": "首套", "requested_slot": "x", "empty": None},
    )
    await claims.claim(world.console, me, conversation_id)
    packet = await conversations.packet(world.console, me, conversation_id)
    assert packet["mode"] == "owner"
    assert packet["conversation"]["channel"] == "app"
    assert packet["handoff"]["reason"] == "failed_understanding" and packet["handoff"]["intent"] == "ask_loan"
    assert packet["handoff"]["slots"] == {"loan_years": 20.0, "home_kind": "首套"}
    assert packet["citizen"]["identities"] == [{"kind": "app", "value": "packet-citizen"}]
    assert [c["id"] for c in packet["earlier_conversations"]] == [earlier.id]
    authors = [m["author"] for m in packet["transcript"]]
    assert authors[:2] == [Author.CITIZEN, Author.BOT], "the bot's turns are in the transcript"
    assert packet["transcript"][1]["text"] == "收到：怎么还贷"


async def test_replies_reach_the_citizen_and_first_response_is_timed(world):
    me = await world.agent("replier")
    conversation_id, _ = await world.ask_for_person("reply-citizen")
    await claims.claim(world.console, me, conversation_id)
    link = {"title": "租房提取申请", "url": "https://example.gov.cn/rent"}
    sent = await conversations.send(world.console, me, conversation_id, "<b>您好</b>", [link])
    assert sent["author"] == Author.AGENT and sent["text"] == "<b>您好</b>" and sent["payload"]["links"] == [link]
    async with world.console.sessions() as session:
        first = await session.scalar(select(Assignment.first_response_at).where(Assignment.agent_id == me.id))
    assert first is not None


async def test_an_agent_cannot_act_on_another_agents_conversation(world):
    owner, other = await world.agent("owner"), await world.agent("other")
    conversation_id, _ = await world.ask_for_person("owned")
    await claims.claim(world.console, owner, conversation_id)
    attempts = [
        conversations.send(world.console, other, conversation_id, "插话", []),
        conversations.finish(world.console, other, conversation_id),
        conversations.packet(world.console, other, conversation_id),
        claims.transfer_to_agent(world.console, other, conversation_id, owner.id, None),
        claims.return_to_pool(world.console, conversation_id, from_agent=other.id, actor=other.actor, reason="transfer",
                              skill="贷款"),
    ]
    for attempt in attempts:
        with pytest.raises(ApiError) as refused:
            await attempt
        assert (refused.value.status, refused.value.code) == (403, "not_your_conversation")
    assert [m.author for m in await world.hub.history(conversation_id)].count(Author.AGENT) == 0


async def test_handback_resumes_the_bot_asks_for_a_rating_and_stores_the_answer(world):
    me = await world.agent("finisher")
    conversation_id, _ = await world.ask_for_person("rater")
    conversation = await world.hub.open_conversation(channel="app", kind="app", value="rater")
    waiting_turn = await world.hub.receive(conversation, said(conversation, "有人吗"))
    await claims.claim(world.console, me, conversation_id)
    human_turn = await world.hub.receive(conversation, said(conversation, "我的贷款批了吗"))
    assert waiting_turn.replies == [] and human_turn.replies == []
    assert [r["message"] for r in world.rasa.received] == ["我要转人工"], "the bot heard nothing while paused"

    await conversations.finish(world.console, me, conversation_id)
    assert (conversation_id, {"event": "resume"}) in world.rasa.events
    assert await world.status(conversation_id) == ConversationStatus.BOT
    request = (await world.hub.history(conversation_id))[-1]
    assert request.author == Author.SYSTEM and request.payload["rating_request"] == {"conversation_id": conversation_id}
    assert sorted(b["payload"] for b in request.payload["buttons"]) == ["1", "2", "3", "4", "5"]

    rated = await world.hub.receive(conversation, said(conversation, "４"))  # a full-width digit from a phone keyboard
    assert [r.text for r in rated.replies] == ["感谢您的评价（4分）！还有其他问题可以继续问我。"]
    assert "４" not in [r["message"] for r in world.rasa.received]
    again = await world.hub.receive(conversation, said(conversation, "5"))
    assert [r.text for r in again.replies] == ["收到：5"], "rated once: later numbers are the bot's again"
    async with world.console.sessions() as session:
        assert await session.scalar(select(Handoff.rating).where(Handoff.conversation_id == conversation_id)) == 4
    assert (me.username, "finish") in await world.audit_actions(f"conversation:{conversation_id}")


async def test_a_failed_resume_is_retried_by_the_clock(world):
    from agent_console.background import Clock

    me = await world.agent("retry")
    conversation_id, _ = await world.ask_for_person("retry-citizen")
    await claims.claim(world.console, me, conversation_id)
    working = world.console.bot
    world.console.bot = type(working)("http://127.0.0.1:9", timeout_s=0.5)  # Rasa unreachable
    try:
        result = await conversations.finish(world.console, me, conversation_id)
    finally:
        await world.console.bot.close()
        world.console.bot = working
    assert result["bot_resumed"] is False
    await Clock(world.console).retry_resumes()
    assert (conversation_id, {"event": "resume"}) in world.rasa.events
    async with world.console.sessions() as session:
        assert await session.scalar(select(Handoff.resume_pending).where(Handoff.conversation_id == conversation_id)) is False


async def test_transfer_to_a_colleague_moves_the_conversation_and_the_load(world):
    first, second = await world.agent("first", capacity=1), await world.agent("second", capacity=1)
    conversation_id, _ = await world.ask_for_person("transferred")
    await claims.claim(world.console, first, conversation_id)
    async with world.bus.subscribe(events.agent_topic(second.id)) as inbox:
        await claims.transfer_to_agent(world.console, first, conversation_id, second.id, "公积金贷款问题，请协助")
        got = await collect(inbox, 0.2)
    assert [(e.type, e.how, e.note) for e in got] == [("assigned", "transfer", "公积金贷款问题，请协助")]
    packet = await conversations.packet(world.console, second, conversation_id)
    assert packet["mode"] == "owner" and packet["handoff"]["note"] == "公积金贷款问题，请协助"
    with pytest.raises(ApiError):
        await conversations.send(world.console, first, conversation_id, "还是我", [])
    other, _ = await world.ask_for_person("next-one")
    await claims.claim(world.console, first, other)  # the seat came back
    with pytest.raises(ApiError) as full:
        await claims.transfer_to_agent(world.console, first, other, second.id, None)
    assert full.value.code == "at_capacity"
    async with world.console.sessions() as session:
        ends = (await session.execute(select(Assignment.agent_id, Assignment.end).where(
            Assignment.conversation_id == conversation_id).order_by(Assignment.id))).all()
    assert ends == [(first.id, "transferred"), (second.id, None)]
    assert (first.username, "transfer") in await world.audit_actions(f"conversation:{conversation_id}")


async def test_transfer_to_a_skill_group_returns_to_the_pool_for_that_group(world):
    me = await world.agent("generalist")
    plain = await world.agent("plain")
    loans = await world.agent("loans", skills=["贷款"])
    conversation_id, _ = await world.ask_for_person("skill-citizen")
    await claims.claim(world.console, me, conversation_id)
    await claims.return_to_pool(world.console, conversation_id, from_agent=me.id, actor=me.actor, reason="transfer",
                                skill="贷款", note="组合贷款")
    assert await world.status(conversation_id) == ConversationStatus.WAITING
    with pytest.raises(ApiError) as wrong_group:
        await claims.claim(world.console, plain, conversation_id)
    assert wrong_group.value.code == "skill_required"
    await claims.claim(world.console, loans, conversation_id)
    assert await world.status(conversation_id) == ConversationStatus.HUMAN


async def test_nobody_on_duty_makes_a_callback_ticket_with_question_contact_and_promise(world):
    conversation_id, outcome = await world.ask_for_person("night", text="我想问下我的提取为啥被退回", contact="13800138000")
    assert outcome.outcome == "callback" and outcome.ticket_id is not None
    assert "联系您" in outcome.message and outcome.position is None
    assert await world.status(conversation_id) == ConversationStatus.BOT, "the bot keeps serving"
    repeat = await request_handoff(world.console, conversation_id=conversation_id, reason="citizen_request")
    assert repeat.ticket_id == outcome.ticket_id, "one open ticket per conversation"
    async with world.console.sessions() as session:
        ticket = await session.get(CallbackTicket, outcome.ticket_id)
    assert "我想问下我的提取为啥被退回" in ticket.question and ticket.contact == "13800138000"
    assert ticket.promised_by is not None

    first, second = await world.agent("morning-1"), await world.agent("morning-2")
    from agent_console.pool import open_tickets

    async with world.console.sessions() as session:
        assert [t["ticket_id"] for t in await open_tickets(session)] == [ticket.id]
    async with world.bus.subscribe(events.POOL) as pool_events:
        await callbacks.claim(world.console, first, ticket.id)
        (changed,) = [e for e in await collect(pool_events, 0.2) if e.type == "tickets.changed"]
    # Every console on duty hears the pool: the claim says who by id (the taker's page), never by name.
    assert changed.ticket["agent_id"] == first.id and changed.ticket["state"] == TicketState.CLAIMED
    assert first.display_name not in str(changed.to_wire()) and first.username not in str(changed.to_wire())
    with pytest.raises(ApiError) as taken:
        await callbacks.claim(world.console, second, ticket.id)
    assert taken.value.status == 409
    with pytest.raises(ApiError):
        await callbacks.reply(world.console, second, ticket.id, "不是我的")
    await callbacks.reply(world.console, first, ticket.id, "您好，您的提取材料缺少租房合同。")
    await callbacks.done(world.console, first, ticket.id, "已电话联系")
    assert (await world.hub.history(conversation_id))[-1].text == "您好，您的提取材料缺少租房合同。"
    async with world.console.sessions() as session:
        assert (await session.get(CallbackTicket, ticket.id, populate_existing=True)).state == TicketState.DONE


async def test_a_waiting_citizen_can_leave_a_message_instead(world):
    await world.agent("busy-one")
    conversation_id, _ = await world.ask_for_person("leaver", text="公积金账户被封存了怎么办")
    conversation = await world.hub.open_conversation(channel="app", kind="app", value="leaver")
    async with world.bus.subscribe(events.POOL) as pool_events:
        turn = await world.hub.receive(conversation, said(conversation, "留言"))
        removed = [e for e in await collect(pool_events, 0.2) if e.type == "pool.removed"]
    (sent,) = turn.sent
    assert sent.message.author == Author.SYSTEM and "已为您登记留言" in sent.reply.text
    assert [(e.conversation_id, e.reason) for e in removed] == [(conversation_id, "left")]
    assert await world.status(conversation_id) == ConversationStatus.BOT
    assert (conversation_id, {"event": "resume"}) in world.rasa.events
    async with world.console.sessions() as session:
        ticket = await session.scalar(select(CallbackTicket).where(CallbackTicket.conversation_id == conversation_id))
        state = await session.scalar(select(Handoff.state).where(Handoff.conversation_id == conversation_id))
    assert "封存" in ticket.question and state == HandoffState.CANCELLED
    assert "留言" not in [r["message"] for r in world.rasa.received]


async def test_a_flood_of_handoff_requests_is_refused_without_losing_anything(world):
    await world.agent("flood-guard")
    conversation = await world.citizen("flooder")
    for _ in range(world.console.settings.console_handoff_limit):
        outcome = await request_handoff(world.console, conversation_id=conversation.id, reason="citizen_request")
        assert outcome.outcome == "queued"
        await world.hub.receive(conversation, said(conversation, "留言"))  # leaves the queue, so the next request is a new one
    with pytest.raises(HandoffRefused) as refused:
        await request_handoff(world.console, conversation_id=conversation.id, reason="citizen_request")
    assert (refused.value.status, refused.value.code) == (429, "too_many_handoffs")
    other = await world.citizen("calm")
    assert (await request_handoff(world.console, conversation_id=other.id, reason="citizen_request")).outcome == "queued"
    assert [m.text for m in await world.hub.history(conversation.id) if m.author == Author.CITIZEN].count("留言") == 3


async def test_the_audit_log_is_append_only_in_the_database(world):
    me = await world.agent("audited")
    conversation_id, _ = await world.ask_for_person("audit-citizen")
    await claims.claim(world.console, me, conversation_id)
    await conversations.packet(world.console, me, conversation_id)
    await conversations.send(world.console, me, conversation_id, "您好", [])
    await conversations.finish(world.console, me, conversation_id)
    assert [a for _, a in await world.audit_actions(f"conversation:{conversation_id}")] == [
        "grab", "read", "message", "finish",
    ]
    assert ("audited", "duty_start") in await world.audit_actions(f"agent:{me.id}")
    for statement in (update(AuditEntry).values(actor="someone-else"), AuditEntry.__table__.delete()):
        async with world.console.sessions() as session:
            with pytest.raises(Exception, match="append-only"):
                await session.execute(statement)
                await session.commit()
    async with world.console.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.actor == "audited")) >= 5
        if session.bind.dialect.name == "postgresql":
            with pytest.raises(Exception, match="append-only"):
                await session.execute(text("TRUNCATE audit_log"))
