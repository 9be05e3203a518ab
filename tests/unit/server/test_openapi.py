"""The OpenAPI document (/api/v1/openapi.json): every route says what it answers and which stable error
codes it can give, so a client can be written from the document alone."""
from __future__ import annotations

import pytest

from core.settings import Settings
from server.app import create_app

METHODS = {"get", "post", "put", "patch", "delete"}
ERROR_BODY = "#/components/schemas/ErrorBody"


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return create_app(Settings(data_dir=tmp_path_factory.mktemp("openapi"))).openapi()


def _operations(document: dict) -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _resolve(document: dict, schema: dict) -> dict:
    ref = schema.get("$ref")
    return document["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def _described(document: dict, schema: dict) -> bool:
    """A schema that says something: a model, a union of models, or a typed value; not `{}` and not a
    bare object (what a route annotated `-> dict` gets)."""
    schema = _resolve(document, schema)
    if "anyOf" in schema or "oneOf" in schema:
        return all(_described(document, part) for part in schema.get("anyOf", schema.get("oneOf")))
    if schema.get("type") == "object":
        return bool(schema.get("properties"))
    return bool(schema.get("type") or schema.get("enum") or schema.get("const"))


def test_the_document_lists_the_routes(document):
    paths = document["paths"]
    assert len(_operations(document)) >= 75
    for path in ("/api/v1/console/pool", "/api/v1/knowledge/admin/articles", "/api/v1/loan/repayment",
                 "/api/v1/checklists/{case}/next", "/voice/twilio/inbound", "/wechat", "/healthz"):
        assert path in paths, path


def test_every_json_route_declares_the_shape_of_its_answer(document):
    undeclared = []
    for method, path, operation in _operations(document):
        if not (path.startswith("/api/") or path == "/healthz"):
            continue
        successes = {status: r for status, r in operation["responses"].items() if status.startswith("2")}
        assert successes, f"{method} {path} declares no success response"
        for status, response in successes.items():
            if status == "204":
                assert not response.get("content"), f"{method} {path}: 204 has no body"
                continue
            if response.get("content") and "application/json" not in response["content"]:
                continue  # a download (CSV): its media type is its declaration
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if not _described(document, schema):
                undeclared.append(f"{method} {path} {status}: {schema}")
    assert not undeclared, "\n".join(undeclared)


def test_routes_that_answer_xml_html_text_or_redirects_declare_their_media_type(document):
    def media(path: str, method: str, status: str = "200") -> set[str]:
        return set(document["paths"][path][method]["responses"][status].get("content", {}))

    assert media("/voice/twilio/inbound", "post") == {"application/xml"}
    assert media("/wechat", "post") == {"application/xml", "text/plain"}
    assert media("/wechat", "get") == {"text/plain"}
    assert media("/wechat/oauth/callback", "get") == {"text/html"}
    assert media("/wechat/articles/{article_id}", "get") == {"text/html"}
    assert "302" in document["paths"]["/wechat/oauth"]["get"]["responses"]
    assert "204" in document["paths"]["/voice/twilio/status"]["post"]["responses"]


def test_every_route_documents_its_errors_with_the_error_body_and_stable_codes(document):
    problems = []
    for method, path, operation in _operations(document):
        errors = {status: r for status, r in operation["responses"].items() if status[0] in "45"}
        documented = [
            status for status, response in errors.items()
            if response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref") == ERROR_BODY
        ]
        if not documented:
            problems.append(f"{method} {path}: no error response with the ErrorBody schema")
        for status in documented:
            codes = errors[status].get("x-error-codes")
            if not codes:
                problems.append(f"{method} {path} {status}: no stable codes listed")
            elif not all(f"`{code}`" in errors[status]["description"] for code in codes):
                problems.append(f"{method} {path} {status}: codes missing from the description")
    assert not problems, "\n".join(problems)


def test_validation_errors_are_documented_as_they_are_answered(document):
    """The service answers a malformed request with its own body (code `invalid_request`), never
    FastAPI's default, so the default must not be documented either."""
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            assert schema.get("$ref") != "#/components/schemas/HTTPValidationError", f"{method} {path} {status}"
        if any(p.get("in") in ("path", "query") for p in operation.get("parameters", ())) \
                or "requestBody" in operation:
            assert "invalid_request" in operation["responses"].get("422", {}).get("x-error-codes", ()), \
                f"{method} {path}"


def test_the_error_body_has_a_code_and_a_message(document):
    body = document["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"code", "message"}
    assert body.get("additionalProperties") is True  # context such as `field` or `question` rides along


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("post", "/api/v1/console/conversations/{conversation_id}/claim", "409", "already_taken"),
    ("post", "/api/v1/console/login", "429", "too_many_logins"),
    ("get", "/api/v1/console/pool", "401", "not_logged_in"),
    ("post", "/api/v1/console/duty", "403", "csrf_failed"),
    ("post", "/api/v1/console/duty", "403", "agent_suspended"),
    ("post", "/api/v1/console/standing/suspensions/{suspension_id}/decide", "409", "suspension_decided"),
    ("get", "/api/v1/console/audit", "403", "forbidden"),
    ("post", "/api/v1/handoff", "429", "too_many_handoffs"),
    ("post", "/api/v1/app/messages", "401", "app_unauthorized"),
    ("get", "/api/v1/app/messages", "403", "user_mismatch"),
    ("post", "/api/v1/knowledge/answer", "503", "index_not_ready"),
    ("put", "/api/v1/knowledge/admin/articles/{article_id}", "409", "version_conflict"),
    ("post", "/api/v1/loan/repayment", "422", "invalid_principal"),
    ("post", "/api/v1/checklists/{case}/next", "404", "unknown_checklist"),
    ("post", "/voice/twilio/gather", "403", "bad_signature"),
    ("post", "/wechat", "403", "bad_signature"),
    ("get", "/api/v1/service/agents", "500", "internal_error"),
])
def test_known_stable_codes_are_listed(document, method, path, status, code):
    response = document["paths"][path][method]["responses"][status]
    assert code in response["x-error-codes"]
