"""Knowledge base administration from the command line, on the service's database (DATABASE_URL).

    python -m knowledge.admin list [--all]
    python -m knowledge.admin show ID [--version N]
    python -m knowledge.admin add --file article.md [--note TEXT]
    python -m knowledge.admin edit --file article.md [--base-version N] [--note TEXT]
    python -m knowledge.admin retire ID [--note TEXT]
    python -m knowledge.admin history ID
    python -m knowledge.admin diff ID [--from N] [--to N]
    python -m knowledge.admin rollback ID --to VERSION [--note TEXT]
    python -m knowledge.admin report [--since 2026-11-01] [--until 2026-12-01] [--limit 50] [--json]

Every change is a new version by --author (default: the login name). Running services pick it up
within KNOWLEDGE_WATCH_S and rebuild the index in the background.
"""
from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from datetime import datetime
from pathlib import Path

from core.db import make_engine, make_sessionmaker, migrate
from core.errors import ApiError
from core.settings import Settings, get_settings
from knowledge.editing import Editor
from knowledge.unanswered import LOCAL, report
from staff.audit import Actor

COMMANDS = ("list", "show", "add", "edit", "retire", "history", "diff", "rollback", "report")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m knowledge.admin", description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog="\n".join(__doc__.split("\n")[2:]),
    )
    parser.add_argument("--author", default=getpass.getuser(), help="who makes the change (default: %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="live articles, latest version each")
    listing.add_argument("--all", action="store_true", help="retired articles too")
    show = commands.add_parser("show", help="print an article's Markdown")
    show.add_argument("article_id")
    show.add_argument("--version", type=int)
    for name, text in (("add", "add a new article"), ("edit", "a new version of an article (id from the file)")):
        change = commands.add_parser(name, help=text)
        change.add_argument("--file", type=Path, required=True, help="the Markdown file with front matter")
        change.add_argument("--note", help="why (kept with the version)")
        if name == "edit":
            change.add_argument("--base-version", type=int, help="refuse if the latest version is no longer this one")
    retire = commands.add_parser("retire", help="take an article out of the index (history stays)")
    retire.add_argument("article_id")
    retire.add_argument("--note")
    history = commands.add_parser("history", help="every version of an article")
    history.add_argument("article_id")
    diff = commands.add_parser("diff", help="unified diff between versions (default: latest against previous)")
    diff.add_argument("article_id")
    diff.add_argument("--from", dest="from_version", type=int)
    diff.add_argument("--to", dest="to_version", type=int)
    rollback = commands.add_parser("rollback", help="a new version equal to an older one")
    rollback.add_argument("article_id")
    rollback.add_argument("--to", dest="to_version", type=int, required=True, metavar="VERSION")
    rollback.add_argument("--note")
    unanswered = commands.add_parser("report", help="unanswered and low-confidence questions, grouped")
    unanswered.add_argument("--since", type=datetime.fromisoformat, help="start (local time; default: 30 days ago)")
    unanswered.add_argument("--until", type=datetime.fromisoformat, help="end (local time; default: now)")
    unanswered.add_argument("--limit", type=int, default=50, help="groups shown (default: %(default)s)")
    unanswered.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


def _version_line(v: dict) -> str:
    state = "已下线" if v["retired"] else ""
    restored = f" ← v{v['restored_from']}" if v["restored_from"] else ""
    note = f"  {v['note']}" if v["note"] else ""
    return f"v{v['version']:<3} {_local(v['created_at'])}  {v['action']:<8}{restored} {v['author']}  {state}{note}"


def _print_report(data: dict) -> None:
    print(f"{_local(data['since'])} – {_local(data['until'])}：{data['total']} 个问题，{len(data['groups'])} 组")
    for rank, group in enumerate(data["groups"], 1):
        nearest = group["nearest_article"]
        where = f"最接近：{nearest['title']}（{nearest['id']}）" if nearest else "无相近文章"
        kinds = "，".join(f"{k} {n}" for k, n in group["kinds"].items())
        print(f"\n{rank}. ×{group['count']}  {group['question']}\n   {where}；{kinds}")
        for example in group["examples"][1:]:
            print(f"   · {example}")


async def _run(args: argparse.Namespace, settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    editor = Editor(sessions, settings.loan_params_path.parent)
    actor = Actor(id=None, name=args.author[:64], role="cli")
    try:
        match args.command:
            case "list":
                for a in await editor.listing(include_retired=args.all):
                    state = "  已下线" if a["retired"] else ""
                    print(f"{a['article_id']:<36} v{a['version']:<3} {a['category']}  {a['title']}{state}")
            case "show":
                print((await editor.show(args.article_id, version=args.version))["content"], end="")
            case "add":
                print(_version_line(await editor.create(_read(args.file), actor=actor, note=args.note)))
            case "edit":
                changed = await editor.edit(_read(args.file), actor=actor, base_version=args.base_version,
                                            note=args.note)
                print(_version_line(changed))
            case "retire":
                print(_version_line(await editor.retire(args.article_id, actor=actor, note=args.note)))
            case "history":
                for version in await editor.history(args.article_id):
                    print(_version_line(version))
            case "diff":
                print(await editor.diff(args.article_id, from_version=args.from_version, to_version=args.to_version),
                      end="")
            case "rollback":
                restored = await editor.rollback(args.article_id, to_version=args.to_version, actor=actor,
                                                 note=args.note)
                print(_version_line(restored))
            case "report":
                data = await report(sessions, since=args.since, until=args.until, limit=args.limit)
                print(json.dumps(data, ensure_ascii=False, indent=2)) if args.json else _print_report(data)
    finally:
        await engine.dispose()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ApiError(400, "file_unreadable", f"无法读取文件 {path}：{exc}") from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    migrate(settings.database_url)
    try:
        asyncio.run(_run(args, settings))
    except ApiError as error:
        print(f"错误 [{error.code}]：{error.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
