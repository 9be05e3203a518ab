"""The handoff packet in words an agent reads at a glance: the citizen's question in their own words (not
the "转人工" that brought them), what they needed as a Chinese label instead of the bot's codes
(ask_loan, nlu_fallback, topic=loan-rates), the facts the bot collected, and who the citizen is in human
terms (微信用户, App 用户, 电话 138****1234): never a visitor token or an openid."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from conversations.asking import asks_for_person
from knowledge.search import KnowledgeBase

# The bot's intents (bot/domain.yml) and Rasa's own fallback, as an agent would say them.
INTENT_LABELS = {
    "greet": "打招呼", "goodbye": "道别", "thanks": "致谢", "affirm": "确认", "deny": "否定",
    "bot_challenge": "询问是否机器人", "ask_human": "要求人工服务", "complaint": "投诉", "out_of_scope": "超出服务范围",
    "ask_withdrawal": "公积金提取", "ask_deposit": "公积金缴存", "ask_account": "账户业务", "ask_loan": "公积金贷款",
    "ask_service": "办事渠道与网点", "ask_documents": "所需材料", "ask_processing_time": "办理时限",
    "estimate_loan_amount": "估算可贷额度", "calc_repayment": "计算月还款", "query_progress": "查询办理进度",
    "check_eligibility": "办理条件自查", "inform": "补充信息", "nlu_fallback": "机器人未能理解",
}
# Slots worth an agent's attention, in this order; the rest (counters, the bot's own settings) is noise.
SLOT_LABELS = {
    "loan_principal": "想贷金额", "house_price": "房屋总价", "loan_years": "贷款年限", "repay_method": "还款方式",
    "home_kind": "购房套数", "both_deposit": "夫妻双方缴存", "monthly_wage": "月工资",
    "monthly_deposit_total": "月缴存额", "account_balance": "账户余额", "existing_repayment": "已有月还款",
    "checklist_case": "办理事项",
}
MONEY_SLOTS = {"loan_principal", "house_price", "monthly_wage", "monthly_deposit_total", "account_balance",
               "existing_repayment"}
VALUE_LABELS = {
    "repay_method": {"equal_installment": "等额本息", "equal_principal": "等额本金"},
    "home_kind": {"first": "首套房", "second": "二套房"},
}
IDENTITY_LABELS = {"wechat": "微信用户", "app": "App 用户", "web": "网页访客", "webrtc": "网页语音访客"}
# Button payloads such as "/ask_human" and one-digit ratings are clicks, not questions.
_NOT_A_QUESTION = re.compile(r"^\s*(?:/\w.*|[1-5１-５]|留言)\s*$")


def real_question(texts: Iterable[str]) -> str | None:
    """The citizen's last message that says what they need: not a plain request for a person ("转人工",
    "人工客服", "我要投诉"), a button's payload or a rating digit. `texts` oldest first."""
    for text in reversed(list(texts)):
        if text and text.strip() and not _NOT_A_QUESTION.match(text) and asks_for_person(text) is None:
            return text.strip()
    return None


def phone_label(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) == 11:
        return f"电话 {digits[:3]}****{digits[-4:]}"
    return f"电话 尾号{digits[-4:]}" if len(digits) >= 4 else "电话（未显示号码）"


def citizen_label(identities: Iterable[Mapping[str, str]]) -> str:
    """Who the citizen is, one label per way they reached us: the phone number masked, nothing else."""
    labels: list[str] = []
    for identity in identities:
        kind, value = identity.get("kind", ""), identity.get("value", "")
        label = phone_label(value) if kind == "phone" and not value.startswith("anonymous:") else (
            "电话（未显示号码）" if kind == "phone" else IDENTITY_LABELS.get(kind, "其他渠道用户"))
        if label not in labels:
            labels.append(label)
    return "、".join(labels) or "未识别身份"


@lru_cache(maxsize=4)
def _checklist_titles(directory: Path) -> dict[str, str]:
    titles: dict[str, str] = {}
    for path in sorted(directory.glob("*.yml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and data.get("title"):
            titles[path.stem] = str(data["title"])
    return titles


def _money(value: float) -> str:
    return f"{value / 10_000:g} 万元" if value >= 10_000 else f"{value:g} 元"


def fact_value(slot: str, value: Any, checklists_dir: Path) -> str | None:
    if value is None or value == "" or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if slot in MONEY_SLOTS and isinstance(value, (int, float)):
        return _money(float(value))
    if slot == "loan_years" and isinstance(value, (int, float)):
        return f"{value:g} 年"
    if slot == "checklist_case":
        return _checklist_titles(checklists_dir).get(str(value), str(value))
    return VALUE_LABELS.get(slot, {}).get(str(value), str(value))


def topic_title(topic: str | None, knowledge: KnowledgeBase | None) -> str | None:
    if not topic or knowledge is None:
        return None
    try:
        article = knowledge.article(topic)
    except Exception:  # the index may be rebuilding; the label is a nicety, never a failure
        return None
    return str(article["title"]) if article and article.get("title") else None


def need_label(intent: str | None, slots: Mapping[str, Any], knowledge: KnowledgeBase | None) -> str | None:
    """"公积金贷款 · 贷款利率" from intent=ask_loan and topic=loan-rates; the code itself only when unknown."""
    parts = [INTENT_LABELS.get(intent, intent)] if intent and intent != "ask_human" else []
    title = topic_title(slots.get("topic"), knowledge)
    if title:
        parts.append(title)
    return " · ".join(parts) or None


def glance(packet: Mapping[str, Any], knowledge: KnowledgeBase | None, checklists_dir: Path) -> dict[str, Any]:
    handoff = packet.get("handoff") or {}
    slots = handoff.get("slots") or {}
    facts = []
    for slot, label in SLOT_LABELS.items():
        shown = fact_value(slot, slots.get(slot), checklists_dir)
        if shown is not None:
            facts.append({"label": label, "value": shown})
    question = real_question(m["text"] for m in packet.get("transcript", []) if m.get("author") == "citizen")
    if question is None:  # the transcript may be cut; earlier conversations still tell what they asked
        question = real_question(reversed([c.get("last_citizen_text") or ""
                                           for c in packet.get("earlier_conversations", [])]))
    return {
        "question": question,
        "need": need_label(handoff.get("intent"), slots, knowledge),
        "facts": facts,
        "citizen": citizen_label(packet.get("citizen", {}).get("identities", [])),
    }
