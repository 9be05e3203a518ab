"""Small pieces with sharp edges: log masking, signed tokens, Rasa reply conversion, text cleaning."""
import logging

import pytest

from conversations.replies import Reply, from_rasa
from conversations.text import clean_text
from core.errors import ApiError
from core.logmask import MaskingFilter, mask_personal
from core.signing import sign, unsign


def test_id_card_and_mobile_numbers_are_masked():
    text = "身份证130402199001011234 手机13812345678 +8613912345678 金额300000"
    masked = mask_personal(text)
    assert "130402********1234" in masked and "19900101" not in masked
    assert "138****5678" in masked and "13812345678" not in masked
    assert "+86139****5678" in masked
    assert "300000" in masked, "ordinary amounts stay readable"


def test_log_records_lose_secrets_and_personal_numbers(caplog):
    logger = logging.getLogger("test.masking")
    logger.addFilter(MaskingFilter(["super-secret-token"]))
    with caplog.at_level(logging.INFO):
        logger.info("token=%s phone=%s", "super-secret-token", "13800001111")
    assert "super-secret-token" not in caplog.text and "13800001111" not in caplog.text


def test_signed_tokens_resist_forgery_and_purpose_reuse():
    token = sign("k1", "web", "visitor-1")
    assert unsign("k1", "web", token) == "visitor-1"
    assert unsign("k2", "web", token) is None
    assert unsign("k1", "other", token) is None
    assert unsign("k1", "web", "visitor-2." + token.rpartition(".")[2]) is None
    assert unsign("k1", "web", "garbage") is None
    assert unsign("k1", "web", "visitor-1.签名") is None  # not a 500: compare_digest refuses non-ASCII text
    assert unsign("k1", "web", "访客." + token.rpartition(".")[2]) is None


def test_custom_json_from_an_action_becomes_one_reply():
    reply = from_rasa(
        {
            "custom": {
                "text": "答案\n\n第二段",
                "buttons": [{"title": "材料", "payload": "要带什么材料"}, {"bad": 1}],
                "links": [{"title": "在线办理", "url": "https://x.example/a"}, {"title": "坏", "url": "javascript:1"}],
                "sources": [{"article_id": "withdraw-rent", "title": "租房提取"}],
            }
        }
    )
    assert reply == Reply(
        text="答案\n\n第二段",
        buttons=[{"title": "材料", "payload": "要带什么材料"}],
        links=[{"title": "在线办理", "url": "https://x.example/a"}],
        sources=[{"article_id": "withdraw-rent", "title": "租房提取"}],
    )


def test_plain_rasa_text_and_empty_messages():
    assert from_rasa({"text": "您好", "buttons": [{"title": "是", "payload": "/affirm"}]}).buttons == [
        {"title": "是", "payload": "/affirm"}
    ]
    assert from_rasa({"image": "http://x/y.png"}) is None
    assert from_rasa({"text": "   "}) is None


def test_plain_text_rendering_numbers_buttons():
    reply = Reply("请选择", buttons=[{"title": "租房提取", "payload": "p"}], sources=[{"article_id": "a", "title": "T"}])
    assert reply.as_plain_text() == "请选择\n1. 租房提取\n来源：《T》"


def test_clean_text_strips_controls_and_limits_length():
    assert clean_text("  你好\x00\u200b \n") == "你好"
    with pytest.raises(ApiError) as err:
        clean_text("\x01\x02")
    assert err.value.code == "empty_message"
    with pytest.raises(ApiError) as err:
        clean_text("字" * 2001)
    assert err.value.code == "message_too_long"


def test_the_embedded_default_signs_with_a_secret_of_its_own(tmp_path):
    """No published default: each installation makes its own secret on first start and keeps it, so a
    token forged with the development placeholder is refused and a restart keeps visitors' tokens."""
    from core.settings import DEV_SECRET, Settings

    first = Settings(data_dir=tmp_path).session_secret.get_secret_value()
    again = Settings(data_dir=tmp_path).session_secret.get_secret_value()
    other = Settings(data_dir=tmp_path / "elsewhere").session_secret.get_secret_value()
    assert first == again and first != DEV_SECRET and len(first) == 64 and other != first
    assert (tmp_path / "secrets" / "session_secret").stat().st_mode & 0o077 == 0, "owner-only file"
    forged = sign(DEV_SECRET, "web-visitor", "someone")
    assert unsign(first, "web-visitor", forged) is None
    assert Settings(data_dir=tmp_path, session_secret="x" * 40).session_secret.get_secret_value() == "x" * 40


def test_the_action_servers_key_is_made_per_installation_where_the_action_server_reads_it(tmp_path):
    from core.settings import DEV_SECRET, Settings

    key = Settings(data_dir=tmp_path).bot_api_key.get_secret_value()
    assert key != DEV_SECRET and (tmp_path / "secrets" / "bot_key").read_text(encoding="ascii").strip() == key


@pytest.mark.parametrize(("field", "variable"), [("session_secret", "SESSION_SECRET"), ("bot_api_key", "BOT_API_KEY"),
                                                 ("outreach_business_secret", "OUTREACH_BUSINESS_SECRET")])
def test_outside_development_a_published_or_short_secret_stops_the_start(tmp_path, field, variable):
    """Production makes no secrets of its own: the published default or a short one is refused by name."""
    from core.settings import DEV_SECRET, Settings

    given = {"session_secret": "s" * 40, "app_api_key": "a" * 24, "bot_api_key": "b" * 24,
             "outreach_business_secret": "o" * 40}
    Settings(data_dir=tmp_path, environment="production", **given)
    for bad in (DEV_SECRET, "short"):
        with pytest.raises(ValueError, match=variable):
            Settings(data_dir=tmp_path, environment="production", **(given | {field: bad}))
    assert not (tmp_path / "secrets").exists()
