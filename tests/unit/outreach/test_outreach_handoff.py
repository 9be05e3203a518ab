"""The signed hand-off to the business form and the token of a personal link, without a database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from core.settings import Settings
from outreach import handoff, link_page, links

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)
SECRET = "business-secret"


def made(**overrides: object) -> str:
    values: dict = {"link_id": "abc", "business": "loan-apply", "depositor_ref": "r1", "now": NOW} | overrides
    return handoff.make(SECRET, **values)


def test_a_hand_off_verifies_within_its_life_and_names_the_link():
    checked = handoff.verify(SECRET, made(), now=NOW + timedelta(seconds=599), business="loan-apply")
    assert (checked.link_id, checked.business, checked.depositor_ref) == ("abc", "loan-apply", "r1")
    assert checked.expires_at - checked.issued_at == handoff.LIFETIME_S
    assert made() != made()  # a fresh nonce each press


@pytest.mark.parametrize(("value", "code"), [
    ("", "malformed"), ("a.b.c", "malformed"), ("x" * 3000, "malformed"), ("abc.def", "bad_signature"),
])
def test_malformed_or_unsigned_values_are_refused(value, code):
    with pytest.raises(handoff.HandoffError) as refused:
        handoff.verify(SECRET, value, now=NOW)
    assert refused.value.code == code


def test_time_and_form_are_checked_after_the_signature():
    with pytest.raises(handoff.HandoffError, match="expired"):
        handoff.verify(SECRET, made(), now=NOW + timedelta(seconds=600))
    with pytest.raises(handoff.HandoffError, match="not_yet_valid"):
        handoff.verify(SECRET, made(now=NOW + timedelta(minutes=5)), now=NOW)
    with pytest.raises(handoff.HandoffError, match="wrong_business"):
        handoff.verify(SECRET, made(), now=NOW, business="withdraw-rent")


def test_the_link_token_is_the_id_and_a_signature_only(tmp_path):
    settings = Settings(data_dir=tmp_path, public_base_url="https://hpf.example.cn/")
    row, issued = links.new_link(settings, business="loan-apply", now=NOW, ttl_s=120, facts={"姓名": "张*"})
    assert issued.url == f"https://hpf.example.cn/o/{links.token_for(settings, row.id)}"
    assert links.link_id_of(settings, issued.url.rsplit("/", 1)[1]) == row.id
    assert links.link_id_of(settings, issued.url.rsplit("/", 1)[1] + "x") is None
    assert row.expires_at == issued.expires_at == NOW + timedelta(seconds=120)
    for life in (0, links.MAX_TTL_S + 1):
        with pytest.raises(ValueError):
            links.new_link(settings, business="loan-apply", now=NOW, ttl_s=life)


def test_a_refusal_page_escapes_and_names_its_code():
    page = link_page.refusal("中心", "link_expired", "<b>过期</b>", "请重新获取")
    assert 'data-code="link_expired"' in page and "&lt;b&gt;" in page and "<script" not in page
