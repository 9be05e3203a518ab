"""Citizens' phone numbers: mainland China only, stored in one form (E.164), shown masked."""
from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

# Citizens have mobiles and landlines; 400/800 numbers, short codes and premium lines are businesses.
_PERSONAL = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


class BadNumber(ValueError):
    """Why a number cannot be called: `code` is stable, `message` is Chinese and fit to show."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code, self.message = code, message


def normalise(raw: object) -> str:
    """The number in E.164 (+86…), or BadNumber: malformed, or not a mainland personal number."""
    text = str(raw or "").strip()
    if not text:
        raise BadNumber("phone_missing", "缺少电话号码。")
    if len(text) > 32:
        raise BadNumber("phone_malformed", "电话号码格式不正确。")
    try:
        number = phonenumbers.parse(text, "CN")
    except NumberParseException:
        raise BadNumber("phone_malformed", "电话号码格式不正确。") from None
    if not phonenumbers.is_valid_number(number):
        raise BadNumber("phone_malformed", "电话号码格式不正确。")
    if phonenumbers.region_code_for_number(number) != "CN":
        raise BadNumber("phone_not_mainland", "仅支持中国大陆的电话号码。")
    if phonenumbers.number_type(number) not in _PERSONAL:
        raise BadNumber("phone_not_personal", "不支持拨打该类号码（如400、短号）。")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(phone: str) -> str:
    """+8613812345678 → 138****5678: enough to recognise a number, not to dial it."""
    digits = phone.removeprefix("+86")
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"
