"""An answer's pictures and videos on channels that cannot show them inline as the page does: WeChat
gets the words and then a card with the picture (an absolute address it can fetch); the phone line
says what each shows; plain text names them."""
from __future__ import annotations

from channels.voice.speech_text import for_ear
from channels.wechat.render import NewsOut, Renderer, TextOut
from conversations.models import Author, Direction, Message
from conversations.replies import Reply, reply_of

PICTURE = {"kind": "image", "url": "/media/" + "a" * 32, "caption": "App首页点“提取”，再选“租房提取”",
           "content_type": "image/png"}
VIDEO = {"kind": "video", "url": "/media/" + "b" * 32, "caption": "三分钟看懂租房提取", "content_type": "video/mp4"}
ANSWER = Reply(text="租房提取需要身份证和租房合同。", sources=[{"article_id": "withdraw-rent", "title": "租房提取"}],
               media=[PICTURE, VIDEO])


def test_wechat_sends_the_words_first_then_a_card_with_the_picture():
    text, card = Renderer("https://hpf.example.cn").render([ANSWER])
    assert isinstance(text, TextOut) and text.content.startswith("租房提取需要身份证和租房合同。")
    assert isinstance(card, NewsOut)
    assert card.image == "https://hpf.example.cn/media/" + "a" * 32
    assert card.url == "https://hpf.example.cn/wechat/articles/withdraw-rent"  # where the video plays too
    assert PICTURE["caption"] in card.description


def test_wechat_without_a_public_address_keeps_the_words_alone():
    (only,) = Renderer("").render([ANSWER])  # WeChat cannot fetch a relative address: no card
    assert isinstance(only, TextOut) and only.content.startswith(ANSWER.text)


def test_a_video_only_answer_gets_a_card_that_says_it_is_a_video():
    (_, card) = Renderer("https://hpf.example.cn").render([Reply(ANSWER.text, sources=ANSWER.sources, media=[VIDEO])])
    assert isinstance(card, NewsOut) and card.image == "" and "视频" in card.description


def test_the_phone_line_says_what_each_picture_shows():
    spoken = for_ear(ANSWER).text
    assert "这条答复配有图片，内容是：App首页点提取，再选租房提取。" in spoken  # quotes are not read
    assert "配有视频，内容是：三分钟看懂租房提取" in spoken
    assert "/media/" not in spoken


def test_media_travel_with_the_stored_message_and_as_plain_text():
    message = Message(conversation_id="c", channel="web", direction=Direction.OUT, author=Author.BOT,
                      text=ANSWER.text, payload=ANSWER.payload())
    assert reply_of(message).media == [PICTURE, VIDEO]
    assert "meta" not in reply_of(message).meta and "media" not in reply_of(message).meta
    assert "图片：App首页点“提取”，再选“租房提取”" in ANSWER.as_plain_text()
    assert "media" not in Reply("无图").payload() and "media" not in Reply("无图").to_api()
