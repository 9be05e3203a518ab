"""The eligibility check (条件自查) as a Rasa form driven by the service.

The form has one required slot, `checklist_step`, which stays empty while questions remain. Each
turn the validator reads the citizen's reply to the question in `checklist_question`, adds it to
`checklist_answers` and asks the service (`POST /api/v1/checklists/{case}/next`) what comes next:
another question (stored; `action_ask_checklist_step` sends it with buttons) or the outcome (sent at
once; the step becomes "done" and the form ends). Which check is run comes from the citizen's words
or, for "我能办吗" after an answer, from the article being discussed (`topic`).
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import service
from .answer import TOPIC
from .checklist_answers import is_cancel, read_answer, read_choice
from .forms import REQUESTED_SLOT, after_aside, is_aside, is_resume, offer_resume
from .replies import call_hotline, reply

FORM = "checklist_form"
CASE, ANSWERS, QUESTION, STEP = "checklist_case", "checklist_answers", "checklist_question", "checklist_step"
DONE, CANCELLED, FAILED = "done", "cancelled", "failed"
PICK = "pick_case"  # the question "which business?", answered in the bot before the service's questions

CANCELLED_TEXT = "好的，这次先不查了。想了解哪项业务的条件，随时可以问我。"
PICK_TEXT = "您想看哪项业务的办理条件？点一项，或直接说业务名称（比如“租房提取”）。"
YES_NO_BUTTONS = ({"title": "是", "payload": "是"}, {"title": "否", "payload": "否"})
HINTS = {
    "yes_no": "请回答“是”或“否”。不想查了可以说“算了”。",
    "choice": "请点一个选项，或回复选项前的数字。不想查了可以说“算了”。",
    "number": "请回复一个数字，比如“12”。不想查了可以说“算了”。",
    PICK: "请点一项业务，或直接说业务名称，比如“租房提取”。不想查了可以说“算了”。",
}


def _pick_question(found: list[dict]) -> dict:
    choices = [{"id": c["case"], "text": c["title"], "articles": c.get("articles") or []} for c in found]
    return {"id": "case", "type": PICK, "text": PICK_TEXT, "choices": choices}


class ValidateChecklistForm(Action):
    def name(self) -> str:
        return f"validate_{FORM}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = (tracker.latest_message.get("text") or "").strip()
        try:
            if tracker.get_slot(REQUESTED_SLOT) is None:
                return await self._start(dispatcher, tracker, text)
            if after_aside(tracker):
                return []  # back after a question asked inside the check: nothing to read
            if is_resume(text):
                return [SlotSet(STEP, None)]  # "继续自查": the waiting question is asked again
            question = tracker.get_slot(QUESTION) or {}
            if question.get("type") == PICK:
                return await self._pick(dispatcher, tracker, question, text)
            return await self._answer(dispatcher, tracker, question, text)
        except service.ServiceError:
            reply(dispatcher, f"抱歉，条件自查暂时连不上，这次没法帮您查。请稍后再试，或{call_hotline()}")
            return [SlotSet(STEP, FAILED)]

    async def _start(self, dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> list[EventType]:
        reset: list[EventType] = [SlotSet(ANSWERS, {}), SlotSet(CASE, None)]
        found = await service.checklist_match(text)
        topic = tracker.get_slot(TOPIC)
        if len(found) != 1 and topic:
            # "我能办吗" after an answer: the article being discussed says which check.
            in_play = await service.checklist_for_article(topic)
            if in_play and (not found or any(c["case"] == in_play["case"] for c in found)):
                found = [in_play]
        if len(found) == 1:
            return reset + await self._begin(dispatcher, found[0])
        return reset + [SlotSet(QUESTION, _pick_question(found or await service.checklists())), SlotSet(STEP, None)]

    async def _pick(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, question: dict, text: str
    ) -> list[EventType]:
        choices = question.get("choices") or []
        case = read_choice(choices, text)
        if case is None and is_cancel(text):
            return [SlotSet(STEP, CANCELLED)]
        if case is not None:
            chosen = next(c for c in choices if c["id"] == case)
            return await self._begin(dispatcher, {"case": case, "title": chosen["text"], **chosen})
        found = await service.checklist_match(text)
        if len(found) == 1:
            return await self._begin(dispatcher, found[0])
        return self._not_read(dispatcher, tracker, PICK)

    async def _answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, question: dict, text: str
    ) -> list[EventType]:
        exact = read_choice(question.get("choices") or [], text) if question.get("type") == "choice" else None
        if exact is None and is_cancel(text):
            return [SlotSet(STEP, CANCELLED)]
        value = read_answer(question, text)
        if value is None:
            return self._not_read(dispatcher, tracker, str(question.get("type")))
        answers = {**(tracker.get_slot(ANSWERS) or {}), str(question.get("id")): value}
        return await self._advance(dispatcher, str(tracker.get_slot(CASE)), answers)

    @staticmethod
    def _not_read(dispatcher: CollectingDispatcher, tracker: Tracker, kind: str) -> list[EventType]:
        if is_aside(tracker):
            return []  # a question of its own: the form steps aside, a rule answers it, the check resumes
        dispatcher.utter_message(text=HINTS.get(kind, HINTS["choice"]))
        return [SlotSet(STEP, None)]  # the same question is asked again

    async def _begin(self, dispatcher: CollectingDispatcher, chosen: dict) -> list[EventType]:
        dispatcher.utter_message(
            text=f"好的，帮您看看{chosen['title']}的办理条件和要带的材料，问您几个问题。随时可以说“算了”退出。"
        )
        events: list[EventType] = [SlotSet(CASE, chosen["case"])]
        articles = chosen.get("articles") or []
        if articles:
            events.append(SlotSet(TOPIC, articles[0]))  # follow-ups ("要带什么材料") stay on this business
        return events + await self._advance(dispatcher, chosen["case"], {})

    @staticmethod
    async def _advance(dispatcher: CollectingDispatcher, case: str, answers: dict) -> list[EventType]:
        try:
            step = await service.checklist_next(case, answers)
        except service.Rejected as exc:
            dispatcher.utter_message(text=exc.message)
            return [SlotSet(STEP, None)]
        if step.get("done"):
            link = step.get("business_link")
            reply(dispatcher, str(step.get("text") or ""), links=[link] if link else [])
            return [SlotSet(ANSWERS, answers), SlotSet(STEP, DONE)]
        return [SlotSet(ANSWERS, answers), SlotSet(QUESTION, step.get("question")), SlotSet(STEP, None)]


class ActionAskChecklistStep(Action):
    """Sends the stored question with its buttons (yes/no, the choices) or a hint for numbers."""

    def name(self) -> str:
        return "action_ask_checklist_step"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if after_aside(tracker):
            offer_resume(dispatcher, FORM)  # the question waits for "继续自查"
            return []
        question = tracker.get_slot(QUESTION) or {}
        kind = question.get("type")
        text = str(question.get("text") or PICK_TEXT)
        if kind == "yes_no":
            reply(dispatcher, text, buttons=YES_NO_BUTTONS)
        elif kind == "number":
            unit = question.get("unit") or ""
            reply(dispatcher, f"{text}（请回复数字{'，单位：' + unit if unit else ''}）")
        else:
            choices = question.get("choices") or []
            reply(dispatcher, text, buttons=[{"title": c["text"], "payload": c["text"]} for c in choices])
        return []


class ActionChecklistFinish(Action):
    """After the form: confirm a cancellation, and clear the check so the next one starts fresh."""

    def name(self) -> str:
        return "action_checklist_finish"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if tracker.get_slot(STEP) == CANCELLED:
            dispatcher.utter_message(text=CANCELLED_TEXT)
        return [SlotSet(slot, None) for slot in (CASE, ANSWERS, QUESTION, STEP)]
