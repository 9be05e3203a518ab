"""Twilio's REST API for outbound work, on 127.0.0.1: Calls (create with machine detection and status
callbacks, update to redirect or hang up) and Messages, with HTTP Basic auth as Twilio checks it and
Twilio's error bodies (21211 invalid number, 21610 unsubscribed, 20429 too many requests, 503 down).

What each number does is scripted (`Behaviour`): a person answers, a machine answers, busy, no answer,
or the API refuses. `callbacks(call)` lists the signed requests Twilio would then send to the service,
in order (status events, the answer URL, machine detection), `message_status(message, status)` a
message's status callback; a test posts them through its client.
"""
from __future__ import annotations

import base64
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from fakes.rasa import ThreadServer
from server.stack import free_port

ACCOUNT_SID = "AC" + "0f" * 16
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
ERRORS = {
    20003: (401, "Authenticate"),
    21211: (400, "The 'To' number is not a valid phone number."),
    21214: (400, "'To' phone number cannot be reached."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21210: (400, "'From' phone number not verified"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
}


@dataclass(frozen=True)
class Behaviour:
    answer: Literal["human", "machine", "busy", "no-answer", "failed"] = "human"
    talk_s: int = 20
    refuse: int | None = None  # a Twilio error code the Calls API answers with instead of placing the call
    sms_refuse: int | None = None


@dataclass
class FakeCall:
    sid: str
    to: str
    params: dict[str, str]
    updates: list[dict[str, str]] = field(default_factory=list)
    at: float = field(default_factory=time.monotonic)  # when the API accepted it


@dataclass
class FakeTwilio(ThreadServer):
    port: int = field(default_factory=free_port)
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    calls: list[FakeCall] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    refused: int = 0
    _ids: itertools.count = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def routes(self) -> list[Route]:
        base = "/2010-04-01/Accounts/{account}"
        return [
            Route(base + "/Calls.json", self._create_call, methods=["POST"]),
            Route(base + "/Calls/{call}.json", self._update_call, methods=["POST"]),
            Route(base + "/Messages.json", self._message, methods=["POST"]),
        ]

    def behaviour(self, to: str) -> Behaviour:
        return self.behaviours.get(to, Behaviour())

    def call_to(self, to: str) -> list[FakeCall]:
        return [call for call in self.calls if call.to == to]

    # -- the API ----------------------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == expected and request.path_params["account"] == self.account_sid

    def _error(self, code: int) -> JSONResponse:
        status, message = ERRORS.get(code, (400, "Error"))
        body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status}
        return JSONResponse(body, status_code=status)

    async def _create_call(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            self.refused += 1
            return self._error(20003)
        fields = await request.form()
        form = {key: str(value) for key, value in fields.items()}
        form["StatusCallbackEvent"] = " ".join(str(v) for v in fields.getlist("StatusCallbackEvent"))
        for needed in ("To", "From", "Url"):
            if not form.get(needed):
                return JSONResponse({"code": 21201, "message": f"No '{needed}' specified", "status": 400}, 400)
        behaviour = self.behaviour(form["To"])
        if behaviour.refuse:
            self.refused += 1
            return self._error(behaviour.refuse)
        with self._lock:
            sid = f"CA{next(self._ids):032x}"
            self.calls.append(FakeCall(sid=sid, to=form["To"], params=form))
        return JSONResponse({"sid": sid, "account_sid": self.account_sid, "to": form["To"], "from": form["From"],
                             "status": "queued", "direction": "outbound-api"}, status_code=201)

    async def _update_call(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return self._error(20003)
        sid = request.path_params["call"]
        form = {key: str(value) for key, value in (await request.form()).items()}
        for call in self.calls:
            if call.sid == sid:
                call.updates.append(form)
        return JSONResponse({"sid": sid, "account_sid": self.account_sid, "status": form.get("Status", "in-progress")})

    async def _message(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return self._error(20003)
        form = {key: str(value) for key, value in (await request.form()).items()}
        if not form.get("To") or not form.get("Body") or not form.get("From"):
            return JSONResponse({"code": 21604, "message": "A 'To' phone number is required.", "status": 400}, 400)
        refuse = self.behaviour(form["To"]).sms_refuse
        if refuse:
            return self._error(refuse)
        with self._lock:
            sid = f"SM{next(self._ids):032x}"
            self.messages.append(form | {"Sid": sid})
        return JSONResponse({"sid": sid, "account_sid": self.account_sid, "to": form["To"], "from": form["From"],
                             "body": form["Body"], "status": "queued"}, status_code=201)

    # -- what Twilio sends back ------------------------------------------------------------------------

    def callbacks(self, call: FakeCall) -> list[tuple[str, dict[str, str]]]:
        """The requests Twilio sends the service for this call, in order: (URL, form fields)."""
        behaviour = self.behaviour(call.to)
        base = {"CallSid": call.sid, "AccountSid": self.account_sid, "From": call.params["From"], "To": call.to,
                "Direction": "outbound-api", "ApiVersion": "2010-04-01"}
        status_url, amd_url = call.params["StatusCallback"], call.params.get("AsyncAmdStatusCallback", "")
        sequence = itertools.count()

        def status(name: str, **extra: str) -> tuple[str, dict[str, str]]:
            return status_url, base | {"CallStatus": name, "SequenceNumber": str(next(sequence))} | extra

        sent = [status("initiated"), status("ringing")]
        if behaviour.answer in ("busy", "no-answer", "failed"):
            return sent + [status(behaviour.answer, CallDuration="0")]
        answered_by = "human" if behaviour.answer == "human" else "machine_end_beep"
        sent += [
            (call.params["Url"], base | {"CallStatus": "in-progress"}),
            status("in-progress"),
            (amd_url, base | {"AnsweredBy": answered_by, "MachineDetectionDuration": "2100"}),
        ]
        return sent + [status("completed", CallDuration=str(behaviour.talk_s))]

    def message_status(self, message: dict[str, str], status: str, error_code: int | None = None
                       ) -> tuple[str, dict[str, str]]:
        """The status callback Twilio posts for a message sent with a StatusCallback: (URL, form fields)."""
        params = {"MessageSid": message["Sid"], "SmsSid": message["Sid"], "AccountSid": self.account_sid,
                  "From": message["From"], "To": message["To"], "MessageStatus": status, "SmsStatus": status,
                  "ApiVersion": "2010-04-01"}
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return message["StatusCallback"], params

    def sign(self, url: str, params: dict[str, str]) -> str:
        return RequestValidator(self.auth_token).compute_signature(url, params)
