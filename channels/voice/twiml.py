"""What the caller hears: the phone line's prompts and the TwiML shapes built from them.

Everything spoken goes through `<Say language="zh-CN">`; everything listened for through
`<Gather input="speech dtmf" language="cmn-Hans-CN">` with the prompt inside it, so the caller can
interrupt (barge in) with a word or a key while the bot is still talking.
"""
from __future__ import annotations

from starlette.responses import Response
from twilio.twiml.voice_response import Gather, VoiceResponse

from channels.voice.speech_text import chinese_count, spell_digits

SPEECH_LANGUAGE = "cmn-Hans-CN"
SAY_LANGUAGE = "zh-CN"
# Words the recogniser should expect on this line (Twilio passes them on as phrase hints).
HINTS = "公积金,住房公积金,提取,租房提取,贷款,公积金贷款,还款,余额,缴存,转人工,人工服务,办理进度,短信"

GREETING = (
    "您好，欢迎致电住房公积金服务热线，我是智能客服。请直接说出您的问题，比如：租房提取需要什么材料。人工服务请按零。"
)
ASK_MORE = "请问还有什么可以帮您？"
REPROMPT = "您还在吗？请直接说出您想咨询的问题，人工服务请按零。"
MENU = "请按键选择：政策咨询请按一，贷款计算请按二，办理进度查询请按三，人工服务请按零。"
MENU_POLICY = "请说出您想咨询的政策问题，比如：租房提取需要什么材料，或者公积金贷款利率是多少。"
UNCLEAR = "抱歉，我没有听清楚，请您再说一遍。"
GOODBYE_SILENCE = "没有听到您的声音。感谢您的来电，再见。"
GOODBYE = "感谢您的来电，再见。"
SMS_OFFER = "这条答复有办理链接，需要发到您的手机上，请按一。"
SMS_SENT = "短信已经发送，请注意查收。"
SMS_FAILED = "抱歉，短信没有发送成功，您可以登录住房公积金网上服务大厅查询。"


class TwiML(Response):
    """A Twilio webhook's answer: instructions for the call, as XML (routes declare it as their
    `response_class`, so the OpenAPI document shows the media type)."""

    media_type = "application/xml"
HANDOFF_FAILED = "抱歉，人工服务暂时无法转接。"
LEAVE_MESSAGE = "请在提示音后说出您的问题，说完请按井号键。"
NO_AGENT_NOW = "抱歉，人工客服暂时无法接听。"
CONNECTING = "正在为您接通人工客服，请稍候。"
TRANSFERRING = "正在为您转接人工客服。"
CALLBACK_DONE = "已为您登记回拨，工作人员会尽快与您联系。感谢您的来电，再见。"
CALL_ENDED = "本次通话已结束，感谢您的来电。"
# 好差评 at the end of a call: one key, asked once; the levels are said best first, as on every channel.
RATE_PROMPT = "请对本次服务进行评价：非常满意请按五，满意请按四，基本满意请按三，不满意请按二，非常不满意请按一。"
RATED = "感谢您的评价，再见。"


def apology(hotline: str) -> str:
    return f"抱歉，系统出现了一点问题。人工服务请按零，或者稍后拨打服务热线{spell_digits(hotline)}。"


def queue_update(position: int | None, estimated_wait_s: int | None) -> str:
    if not position:
        return "人工客服正在为您安排，请不要挂机。"
    text = f"您前面还有{chinese_count(position - 1)}位。" if position > 1 else "下一位就是您。"
    if estimated_wait_s:
        minutes = max(1, round(estimated_wait_s / 60))
        text += f"预计等待约{chinese_count(minutes)}分钟。"
    return text + "请不要挂机。"


def callback_number_prompt(caller: str) -> str:
    tail = spell_digits(caller[-4:]) if sum(c.isdigit() for c in caller) >= 4 else ""
    number = f"您来电的号码，尾号{tail}" if tail else "您来电的号码"
    return f"我们将回拨{number}。确认请按一；使用其他号码，请直接输入号码，以井号键结束。"


class Speaker:
    """Builds responses in one voice."""

    def __init__(self, voice: str) -> None:
        self.voice = voice

    def say(self, parent: VoiceResponse | Gather, text: str) -> None:
        if text:
            parent.say(text, voice=self.voice, language=SAY_LANGUAGE)

    def listen(self, action: str, *prompts: str, timeout: int = 6) -> VoiceResponse:
        """Speak `prompts` inside a Gather for one key or a spoken question; silence posts too."""
        response = VoiceResponse()
        gather = response.gather(
            input="speech dtmf",
            language=SPEECH_LANGUAGE,
            action=action,
            method="POST",
            speech_timeout="auto",
            timeout=timeout,
            num_digits=1,
            action_on_empty_result=True,
            barge_in=True,
            hints=HINTS,
        )
        for prompt in prompts:
            self.say(gather, prompt)
        return response

    def keys(self, action: str, prompt: str, *, finish_on_key: str = "#", num_digits: int = 15) -> VoiceResponse:
        """Listen for keys only (a callback number)."""
        response = VoiceResponse()
        gather = response.gather(
            input="dtmf", action=action, method="POST", timeout=8, finish_on_key=finish_on_key,
            num_digits=num_digits, action_on_empty_result=True,
        )
        self.say(gather, prompt)
        return response

    def rating(self, action: str, *before: str, goodbye: str = GOODBYE) -> VoiceResponse:
        """`before`, then the rating question for one key (1-5). Silence is not posted: the call goes on to
        `goodbye` and hangs up, so the question is never repeated."""
        response = VoiceResponse()
        for text in before:
            self.say(response, text)
        gather = response.gather(input="dtmf", action=action, method="POST", timeout=6, num_digits=1)
        self.say(gather, RATE_PROMPT)
        self.say(response, goodbye)
        response.hangup()
        return response

    def goodbye(self, *texts: str) -> VoiceResponse:
        response = VoiceResponse()
        for text in texts:
            self.say(response, text)
        response.hangup()
        return response

    def enqueue(self, queue: str, *, say: str, wait_url: str, action: str) -> VoiceResponse:
        response = VoiceResponse()
        self.say(response, say)
        response.enqueue(queue, wait_url=wait_url, wait_url_method="POST", action=action, method="POST")
        return response

    def record(self, *texts: str, action: str) -> VoiceResponse:
        response = VoiceResponse()
        for text in texts:
            self.say(response, text)
        response.record(
            action=action, method="POST", max_length=120, finish_on_key="#", play_beep=True, timeout=6,
            trim="trim-silence",
        )
        return response

    def dial_agent(self, *, agent_id: str | None, agent_name: str | None, agent_phone: str | None,
                   action: str) -> VoiceResponse:
        """Connect the caller to the agent who claimed the call: their phone if the claim named one,
        otherwise the console's browser phone (Twilio Client identity `agent-<id>`)."""
        response = VoiceResponse()
        self.say(response, f"正在为您接通人工客服{agent_name}，请稍候。" if agent_name else CONNECTING)
        dial = response.dial(action=action, method="POST", timeout=30, answer_on_bridge=True)
        if agent_phone:
            dial.number(agent_phone)
        else:
            dial.client(f"agent-{agent_id}")
        return response

    def hold(self, text: str, audio_url: str) -> VoiceResponse:
        response = VoiceResponse()
        self.say(response, text)
        response.play(audio_url, loop=1)
        return response


def leave() -> VoiceResponse:
    response = VoiceResponse()
    response.leave()
    return response


def redirect(url: str) -> VoiceResponse:
    response = VoiceResponse()
    response.redirect(url, method="POST")
    return response


def dial_queue(queue: str) -> VoiceResponse:
    """The agent's leg: take the caller waiting in this conversation's own queue."""
    response = VoiceResponse()
    response.dial().queue(queue)
    return response
