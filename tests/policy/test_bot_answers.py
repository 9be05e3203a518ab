"""How the bot reads a citizen's reply to a checklist question (bot/actions/checklist_answers.py)."""
import pytest

from bot.actions.checklist_answers import is_cancel, read_answer, read_choice

MONTHS = {"type": "number", "unit": "个月", "min": 0, "max": 600}
AGE = {"type": "number", "unit": "岁", "min": 16, "max": 80}
YES_NO = {"type": "yes_no"}
MODE = [
    {"id": "quota", "text": "按额度提取（每人每年最多18000元，不用交租赁合同）"},
    {"id": "actual", "text": "按实际房租提取（有租赁合同）"},
    {"id": "public", "text": "租住公租房，按实际房租提取"},
]


@pytest.mark.parametrize(
    ("text", "value"),
    [("是", True), ("否", False), ("没有", False), ("有一套", True), ("1", True), ("2", False), ("不用了", False),
     ("不知道", None), ("啊？", None)],
)
def test_yes_no(text, value):
    assert read_answer(YES_NO, text) is value


@pytest.mark.parametrize(
    ("question", "text", "value"),
    [(MONTHS, "12", 12), (MONTHS, "交了8个月了", 8), (MONTHS, "一年", 12), (MONTHS, "1年3个月", 15),
     (MONTHS, "两年半", 30), (MONTHS, "半年", 6), (MONTHS, "还没交", 0), (AGE, "三十五", 35), (AGE, "35岁", 35),
     (AGE, "没有", None), (MONTHS, "好多", None)],
)
def test_numbers_in_the_questions_unit(question, text, value):
    assert read_answer(question, text) == value


@pytest.mark.parametrize(
    ("text", "choice"),
    [(MODE[0]["text"], "quota"), ("2", "actual"), ("第三个", "public"), ("按额度", "quota"), ("公租房", "public"),
     ("actual", "actual"), ("实际房租", None), ("随便", None)],
)
def test_choices_by_text_number_or_unique_words(text, choice):
    assert read_choice(MODE, text) == choice


@pytest.mark.parametrize(("text", "cancel"), [("算了", True), ("不查了", True), ("取消", True), ("不用了", False),
                                              ("没有", False), ("否", False)])
def test_cancel_words_leave_yes_no_answers_alone(text, cancel):
    assert is_cancel(text) is cancel
