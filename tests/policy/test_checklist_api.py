"""The checklist HTTP API as the bot uses it: listing, matching words and articles, the question loop,
coded errors, and the checks at start and after a broken edit."""
import re
import shutil

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.errors import install_error_handlers
from core.services import Services
from core.settings import Settings
from policy import checklist_api
from tests.policy.helpers import CHECKLISTS_DIR


def make_app(settings: Settings) -> FastAPI:
    app = FastAPI()
    services = app.state.services = Services()  # what the service's lifespan provides, settings only
    services.provide(Settings, settings)
    install_error_handlers(app)
    app.include_router(checklist_api.router)
    return app


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("checklists"))
    with TestClient(make_app(settings)) as client:
        yield client


def test_list_gives_every_case(client):
    body = client.get("/api/v1/checklists").json()
    cases = {c["case"]: c for c in body["checklists"]}
    assert len(cases) == 16 and cases["rent"]["title"] == "租房提取"
    assert cases["rent"]["articles"] == ["withdraw-rent"] and cases["rent"]["questions"] >= 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我能不能租房提取", ["rent"]),
        ("帮我看看我符合退休提取条件不", ["retirement"]),
        ("买房提取我够条件吗", ["purchase-new", "purchase-resale"]),
        ("有商业贷款能提公积金吗", ["repay-commercial-loan"]),
        ("我想申请公积金贷款，够条件吗", ["loan"]),
        ("还公积金贷款能提取吗", ["repay-hpf-loan"]),
        ("我爸得了重病，我能提公积金给他治病吗", ["serious-illness"]),
        ("户口迁回老家了，公积金能销户全取走不", ["hukou-moved"]),
        ("我能办吗", []),
    ],
)
def test_match_finds_the_case_in_the_citizens_words(client, text, expected):
    body = client.get("/api/v1/checklists/match", params={"q": text}).json()
    assert sorted(c["case"] for c in body["cases"]) == sorted(expected)


def test_each_title_names_its_own_case(client):
    """The answer's button says "看看我符不符合<title>的条件": the title alone must find the case."""
    for item in client.get("/api/v1/checklists").json()["checklists"]:
        # The bot drops asides such as "（2026年条例修订新增，待核实）" from the button's words.
        for title in (item["title"], re.sub(r"（[^）]*）", "", item["title"])):
            found = client.get("/api/v1/checklists/match", params={"q": f"看看我符不符合{title}的条件"}).json()
            assert [c["case"] for c in found["cases"]] == [item["case"]], title


def test_for_article_tells_whether_a_check_exists(client):
    assert client.get("/api/v1/checklists/for-article/withdraw-rent").json() == {
        "article_id": "withdraw-rent", "checklist": {"case": "rent", "title": "租房提取", "articles": ["withdraw-rent"]},
    }
    assert client.get("/api/v1/checklists/for-article/loan-documents").json()["checklist"]["case"] == "loan"
    assert client.get("/api/v1/checklists/for-article/loan-rates").json()["checklist"] is None
    for article, case in (("withdraw-serious-illness", "serious-illness"), ("withdraw-hukou-moved", "hukou-moved")):
        assert client.get(f"/api/v1/checklists/for-article/{article}").json()["checklist"]["case"] == case


def test_next_walks_a_rent_check_to_the_outcome(client):
    answers: dict = {}
    script = {"own_home": False, "deposit_months": 12, "recent_withdrawal": False, "mode": "actual",
              "landlord_family": False, "lease_registered": False, "rent_share": True, "spouse_too": True,
              "own_card": True}
    for _ in range(len(script) + 1):
        body = client.post("/api/v1/checklists/rent/next", json={"answers": answers}).json()
        if body["done"]:
            break
        question = body["question"]
        assert set(question) >= {"id", "text", "type", "choices"}
        if question["type"] == "choice":
            assert {c["id"] for c in question["choices"]} >= {"quota", "actual"}
        if question["type"] == "number":
            assert question["min"] == 0 and question["unit"] == "个月"
        answers[question["id"]] = script[question["id"]]
    assert body["done"] is True and body["case"] == "rent"
    assert body["outcome"] == "eligible" and body["reasons"] == []
    assert any("结婚证" in d for d in body["documents"])
    assert any("没有登记备案" in w for w in body["warnings"])
    assert body["business_link"]["url"].endswith("/withdraw/rent")
    assert "租房提取" in body["text"] and body["answers"] == script


def test_not_eligible_outcome_has_reasons_and_no_documents(client):
    body = client.post("/api/v1/checklists/rent/next", json={"answers": {"own_home": True}}).json()
    assert body["done"] and body["outcome"] == "not_eligible" and body["reasons"]
    assert body["documents"] == [] and body["business_link"] is None


def test_unknown_case_is_a_coded_404(client):
    response = client.post("/api/v1/checklists/lottery/next", json={"answers": {}})
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_checklist" and "没有" in response.json()["message"]


@pytest.mark.parametrize(
    ("answers", "code"),
    [({"own_home": 3}, "invalid_answer"), ({"mode": "cash"}, "invalid_answer"),
     ({"deposit_months": 9999}, "answer_out_of_range"), ({"colour": "red"}, "unknown_question")],
)
def test_invalid_answers_are_coded_422(client, answers, code):
    response = client.post("/api/v1/checklists/rent/next", json={"answers": answers})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == code and body["question"] == next(iter(answers))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])


@pytest.mark.parametrize("body", [{"answers": {}, "extra": 1}, {"answers": []}, {"answers": {str(i): True for i in range(51)}}])
def test_malformed_requests_are_422(client, body):
    response = client.post("/api/v1/checklists/rent/next", json=body)
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"


def test_a_broken_file_stops_the_service_at_start(tmp_path):
    broken = tmp_path / "lists"
    shutil.copytree(CHECKLISTS_DIR, broken)
    (broken / "loan.yml").write_text("title: 贷款\n", encoding="utf-8")
    app = make_app(Settings(data_dir=tmp_path, checklists_dir=broken))
    with pytest.raises(Exception, match="loan.yml"):
        with TestClient(app):
            pass


def test_a_broken_edit_while_running_makes_checks_unavailable(tmp_path):
    lists = tmp_path / "lists"
    shutil.copytree(CHECKLISTS_DIR, lists)
    with TestClient(make_app(Settings(data_dir=tmp_path, checklists_dir=lists))) as client:
        assert client.post("/api/v1/checklists/rent/next", json={"answers": {}}).status_code == 200
        (lists / "rent.yml").write_text("title: [\n", encoding="utf-8")
        response = client.post("/api/v1/checklists/rent/next", json={"answers": {}})
        assert response.status_code == 503 and response.json()["code"] == "checklists_unavailable"
