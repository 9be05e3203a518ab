"""An answer with a picture on WeChat through the fake WeChat: the words first, then a news card whose
picture is the article's (an address WeChat can fetch from us) and which opens the article page, where
the picture and a video are shown with their words."""
from __future__ import annotations

import time

import httpx

from fakes import wechat as wx
from knowledge.media import MediaLibrary
from staff.audit import SYSTEM
from tests.knowledge.test_kb_media_api import MP4, png


def test_the_answer_goes_as_words_then_a_picture_card(service, wechat, rasa, openid):
    library = service.app.state.services.get(MediaLibrary)
    picture = service.run(library.add(article_id="withdraw-online-guide", kind="image", data=png(),
                                      caption="第一步：在App首页点“提取”", actor=SYSTEM))
    video = service.run(library.add(article_id="withdraw-online-guide", kind="video", data=MP4,
                                    caption="网上提取演示视频", actor=SYSTEM))
    rasa.scripts["网上怎么提取"] = [{"text": "可以在App或网上办事大厅办理提取。",
                                  "sources": [{"article_id": "withdraw-online-guide", "title": "网上提取指南"}]}]
    delivery = wechat.post(service.wechat_url, wx.text(openid, "网上怎么提取"))
    assert delivery.shown is None, "two messages: both go by push, in order"
    wechat.wait_for(openid, 2)
    time.sleep(0.3)
    words, card = wechat.shown(openid)
    assert (words.via, words.msgtype) == ("custom", "text") and words.content.startswith("可以在App或网上办事大厅办理提取。")
    assert (card.msgtype, card.content) == ("news", "网上提取指南")
    assert card.extra["picurl"] == f"{service.url}/media/{picture.id}"
    assert "第一步" in card.extra["description"]
    assert httpx.get(card.extra["picurl"]).headers["content-type"] == "image/png"
    page = httpx.get(card.extra["url"])
    assert f'src="/media/{picture.id}"' in page.text and 'alt="第一步：在App首页点“提取”"' in page.text
    assert f'<video controls preload="metadata" src="/media/{video.id}"' in page.text
