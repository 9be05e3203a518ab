"""The account's custom menu, kept in a YAML file and set on WeChat with this command.

    python -m channels.wechat.menu --file channels/wechat/menu.yml [--dry-run]

A click button says what happens when it is tapped: `say` sends that text to the assistant as if
the citizen had typed it, `reply` answers with that text. View buttons open `url`, where
"{public_base_url}" stands for PUBLIC_BASE_URL. The file is checked against WeChat's rules (at most
3 buttons, 5 sub-buttons each, name and key sizes) before anything is sent.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from core.settings import Settings

TOP_BUTTONS, SUB_BUTTONS = 3, 5
TOP_NAME_BYTES, SUB_NAME_BYTES, KEY_BYTES, URL_BYTES = 16, 60, 128, 1024


class MenuError(ValueError):
    pass


@dataclass(frozen=True)
class ClickAction:
    name: str
    say: str | None
    reply: str | None


@dataclass(frozen=True)
class Menu:
    wechat: dict                       # the JSON WeChat's menu/create takes
    clicks: dict[str, ClickAction]     # click key → what to do

    @property
    def top_names(self) -> list[str]:
        return [button["name"] for button in self.wechat["button"]]


def load_menu(path: Path, public_base_url: str | None) -> Menu:
    """The checked menu. With `public_base_url` None, view addresses are left as written (the
    service reads only what click buttons do)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MenuError(f"{path}: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("button"), list):
        raise MenuError(f"{path}: expected a top-level 'button' list")
    clicks: dict[str, ClickAction] = {}
    buttons = raw["button"]
    if not 1 <= len(buttons) <= TOP_BUTTONS:
        raise MenuError(f"{len(buttons)} top-level buttons: WeChat allows 1 to {TOP_BUTTONS}")
    top = [_button(b, f"button[{i}]", clicks, public_base_url, top=True) for i, b in enumerate(buttons)]
    return Menu(wechat={"button": top}, clicks=clicks)


def _button(raw: object, where: str, clicks: dict, base: str | None, *, top: bool) -> dict:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
        raise MenuError(f"{where}: every button needs a name")
    name = raw["name"].strip()
    limit = TOP_NAME_BYTES if top else SUB_NAME_BYTES
    if _bytes(name) > limit:
        raise MenuError(f"{where} '{name}': name over {limit} bytes (a Chinese character is 3)")
    subs = raw.get("sub_button")
    if subs is not None:
        if not top:
            raise MenuError(f"{where} '{name}': sub-buttons cannot have sub-buttons")
        if not isinstance(subs, list) or not 1 <= len(subs) <= SUB_BUTTONS:
            raise MenuError(f"{where} '{name}': 1 to {SUB_BUTTONS} sub-buttons")
        return {"name": name, "sub_button": [
            _button(s, f"{where}.sub_button[{i}]", clicks, base, top=False) for i, s in enumerate(subs)
        ]}
    kind = raw.get("type")
    if kind == "click":
        return {"type": "click", "name": name, "key": _click(raw, where, name, clicks)}
    if kind == "view":
        return {"type": "view", "name": name, "url": _url(raw, where, name, base)}
    raise MenuError(f"{where} '{name}': type must be click or view (or give sub_button)")


def _click(raw: dict, where: str, name: str, clicks: dict) -> str:
    key = raw.get("key")
    if not isinstance(key, str) or not key or _bytes(key) > KEY_BYTES:
        raise MenuError(f"{where} '{name}': click buttons need a key of 1 to {KEY_BYTES} bytes")
    if key in clicks:
        raise MenuError(f"{where} '{name}': key {key} is used twice")
    say, reply = raw.get("say"), raw.get("reply")
    if (say is None) == (reply is None) or not isinstance(say or reply, str):
        raise MenuError(f"{where} '{name}': give exactly one of say (ask the assistant) or reply (fixed text)")
    clicks[key] = ClickAction(name=name, say=say, reply=reply)
    return key


def _url(raw: dict, where: str, name: str, base: str | None) -> str:
    url = raw.get("url")
    if not isinstance(url, str):
        raise MenuError(f"{where} '{name}': view buttons need a url")
    if base is None:
        return url
    if "{public_base_url}" in url:
        if not base:
            raise MenuError(f"{where} '{name}': uses {{public_base_url}} but PUBLIC_BASE_URL is not set")
        url = url.replace("{public_base_url}", base.rstrip("/"))
    if not url.startswith(("https://", "http://")) or _bytes(url) > URL_BYTES:
        raise MenuError(f"{where} '{name}': url must be http(s) and at most {URL_BYTES} bytes")
    return url


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


# -- command line ------------------------------------------------------------------------------

async def _publish(menu: Menu, settings: Settings) -> int:
    from channels.wechat.api import WeChatError, build_api
    from core.db import make_engine, make_sessionmaker, migrate

    if not (settings.wechat_appid and settings.wechat_secret.get_secret_value()):
        print("error: set WECHAT_APPID and WECHAT_SECRET (see .env.example)", file=sys.stderr)
        return 2
    # The token comes from the service's shared store: fetching a fresh one here would
    # invalidate the one the running service holds.
    await asyncio.to_thread(migrate, settings.database_url)
    engine = make_engine(settings.database_url)
    api, closers = build_api(settings, make_sessionmaker(engine))
    try:
        await api.create_menu(menu.wechat)
    except WeChatError as exc:
        print(f"error: WeChat refused the menu: errcode {exc.errcode} ({exc.errmsg})", file=sys.stderr)
        return 1
    finally:
        for close in closers:
            await close()
        await engine.dispose()
    print(f"menu set: {' | '.join(menu.top_names)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from core.settings import ROOT, get_settings

    parser = argparse.ArgumentParser(prog="python -m channels.wechat.menu", description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=ROOT / "channels" / "wechat" / "menu.yml", help="menu YAML")
    parser.add_argument("--dry-run", action="store_true", help="check the file and print WeChat's JSON; send nothing")
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        menu = load_menu(args.file, settings.public_base_url)
    except MenuError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(json.dumps(menu.wechat, ensure_ascii=False, indent=2))
        return 0
    return asyncio.run(_publish(menu, settings))


if __name__ == "__main__":
    sys.exit(main())
