"""Every WeChat route under one router, which carries the channel's lifespan (see channel.py)."""
from fastapi import APIRouter

from channels.wechat import articles, endpoint, oauth
from channels.wechat.channel import lifespan

router = APIRouter(lifespan=lifespan)
for part in (endpoint, oauth, articles):
    router.include_router(part.router)
