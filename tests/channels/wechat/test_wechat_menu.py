"""The menu command against the fake WeChat: checks the file by WeChat's rules, sends the menu with the
shared access token, and reports WeChat's refusals."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from channels.wechat.menu import MenuError, load_menu
from core.db import migrate
from core.settings import ROOT

MENU = ROOT / "channels" / "wechat" / "menu.yml"


@pytest.fixture
def run_menu(wechat, tmp_path):
    database = f"sqlite+aiosqlite:///{tmp_path / 'menu.db'}"
    migrate(database)

    def run(*args: str, **env: str) -> subprocess.CompletedProcess:
        values = {
            "PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "DATA_DIR": str(tmp_path), "DATABASE_URL": database,
            "PUBLIC_BASE_URL": "https://hpf.example.cn", "WECHAT_TOKEN": wechat.token, "WECHAT_APPID": wechat.appid,
            "WECHAT_SECRET": wechat.secret, "WECHAT_API_BASE": wechat.api_base,
        } | env
        return subprocess.run([sys.executable, "-m", "channels.wechat.menu", *args], cwd=tmp_path, env=values,
                              capture_output=True, text=True, timeout=120)

    return run


def test_help(run_menu):
    result = run_menu("--help")
    assert result.returncode == 0 and "--dry-run" in result.stdout and "--file" in result.stdout


def test_dry_run_prints_wechats_json_and_sends_nothing(run_menu, wechat):
    calls = len(wechat.calls)
    result = run_menu("--file", str(MENU), "--dry-run")
    assert result.returncode == 0, result.stderr
    menu = json.loads(result.stdout)
    assert [b["name"] for b in menu["button"]] == ["智能问答", "办事服务", "人工服务"]
    names = [s["name"] for b in menu["button"] for s in b["sub_button"]]
    assert {"政策问答", "贷款计算", "办理进度", "转人工", "评价"} <= set(names)
    web = next(s for b in menu["button"] for s in b["sub_button"] if s["name"] == "网页咨询")
    assert web["url"] == "https://hpf.example.cn/wechat/oauth?next=/"
    mine = next(s for b in menu["button"] for s in b["sub_button"] if s["name"] == "我的待办")
    assert mine == {"type": "view", "name": "我的待办", "url": "https://hpf.example.cn/wechat/oauth?next=/me"}
    assert all("say" not in s and "reply" not in s for b in menu["button"] for s in b["sub_button"])
    assert len(wechat.calls) == calls


def test_the_menu_is_set_with_the_shared_token(run_menu, wechat):
    first = run_menu("--file", str(MENU))
    assert first.returncode == 0, first.stderr
    assert "menu set" in first.stdout
    assert wechat.menu == json.loads(run_menu("--file", str(MENU), "--dry-run").stdout)
    requests = wechat.token_requests
    again = run_menu("--file", str(MENU))
    assert again.returncode == 0 and wechat.token_requests == requests, "the stored token is reused"
    assert wechat.errcodes("menu/create")[-2:] == [0, 0]


def test_wechats_refusal_is_reported(run_menu, wechat):
    result = run_menu("--file", str(MENU), WECHAT_SECRET="wrong-secret")
    assert result.returncode == 1 and "40125" in result.stderr
    assert "wrong-secret" not in result.stderr + result.stdout


def write(tmp_path, menu: dict):
    path = tmp_path / "menu.yml"
    path.write_text(yaml.safe_dump(menu, allow_unicode=True), encoding="utf-8")
    return path


def click(name: str, key: str) -> dict:
    return {"type": "click", "name": name, "key": key, "say": name}


@pytest.mark.parametrize(
    ("menu", "complaint"),
    [
        ({"button": [click(f"按钮{i}", f"K{i}") for i in range(4)]}, "1 to 3"),
        ({"button": [{"name": "父", "sub_button": [click(f"子{i}", f"K{i}") for i in range(6)]}]}, "1 to 5"),
        ({"button": [click("这个名字实在是太长了", "K")]}, "16 bytes"),
        ({"button": [{"type": "click", "name": "问答", "key": "K"}]}, "say"),
        ({"button": [click("甲", "K"), click("乙", "K")]}, "used twice"),
        ({"button": [{"type": "view", "name": "官网", "url": "javascript:alert(1)"}]}, "http"),
        ({"button": [{"type": "scancode_push", "name": "扫码", "key": "K"}]}, "type"),
    ],
)
def test_menus_wechat_would_refuse_are_caught_first(tmp_path, run_menu, wechat, menu, complaint):
    path = write(tmp_path, menu)
    with pytest.raises(MenuError, match=complaint):
        load_menu(path, "https://hpf.example.cn")
    calls = len(wechat.calls)
    result = run_menu("--file", str(path))
    assert result.returncode == 2 and complaint in result.stderr
    assert len(wechat.calls) == calls
