"""What people asked to borrow, keyed the way segment evaluation finds a depositor: by their
`depositor_ref` once a campaign has linked them to a citizen, else by an identity the citizen chatted
with (`phone:+86…`, `wechat:<openid>`, `app:<user id>`), which the centre's data also carries."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.models import Author, Channel, Conversation, Identity, Message
from outreach.asked import CHUNK, asked_amounts
from outreach.models import DepositorLink

KINDS = (Channel.PHONE, Channel.WECHAT, Channel.APP)


def identity_key(kind: str, value: str) -> str:
    return f"{kind}:{value}"


async def asked_by_key(session: AsyncSession) -> dict[str, float]:
    """Each asking citizen's latest amount (yuan) under every key that can name them."""
    amount = Message.payload[("loan_ask", "amount")].as_float()
    citizens = list((await session.scalars(
        select(Conversation.citizen_id).distinct()
        .join(Message, Message.conversation_id == Conversation.id)
        .where(Message.author == Author.BOT, amount.is_not(None))
    )).all())
    amounts = await asked_amounts(session, citizens)
    found: dict[str, float] = {}
    asking = list(amounts)
    for start in range(0, len(asking), CHUNK):
        chunk = asking[start:start + CHUNK]
        identities = await session.execute(
            select(Identity.citizen_id, Identity.kind, Identity.value)
            .where(Identity.citizen_id.in_(chunk), Identity.kind.in_([str(kind) for kind in KINDS])))
        for citizen_id, kind, value in identities:
            found[identity_key(kind, value)] = amounts[citizen_id]
        linked = await session.execute(
            select(DepositorLink.depositor_ref, DepositorLink.citizen_id).where(DepositorLink.citizen_id.in_(chunk)))
        for ref, citizen_id in linked:
            found[ref] = amounts[citizen_id]
    return found
