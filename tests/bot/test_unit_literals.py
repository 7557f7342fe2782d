"""No user-facing sentence lives in code outside the locale tables (issue 21 §7, issue 16 §6).

Two scans of the source, by AST (docstrings and comments are not text users read):
1. Cyrillic string literals anywhere in the application packages are allowed only in the
   files of `ALLOWED_CYRILLIC`, each with its reason (parsing tables, a codec's own locale
   table, demo data, seeded rows, greeting texts for clients). In bot/ even an allowed file
   keeps them in module-level UPPER_CASE tables (what a user types), never inline in a handler.
2. In bot/, no string literal with a word in it is passed to what sends text to a user:
   `answer`, `send_message`, `edit_text`, `Screen(...)`, a button's `text=`, or assigned to
   `callback_answer.text` — every such text comes from `t("key")`.
3. bot/ never writes a moment as ISO 8601 (`.isoformat()`): times a user reads go through
   bot.views.format in the user's time zone.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "core", "exports", "scheduler", "api", "telephony_webhooks", "app")
CYRILLIC = re.compile("[А-Яа-яЁё]")
WORD = re.compile("[A-Za-zА-Яа-яЁё]{2,}")

ALLOWED_CYRILLIC: dict[str, str] = {
    "bot/dates.py": "date phrases a user types («завтра», «к вечеру») and their readings",
    "bot/handlers/dialogs.py": "cancel words a user types («отмена»)",
    "app/demo/data.py": "demo data: Russian names and companies",
    "app/demo/seed.py": "demo data: legal forms, extensions and task titles of seeded rows",
    "core/phones.py": "parsing: «доб.» (an extension) in a typed number",
    "core/search_text.py": "parsing: the Russian keyboard layout and ё→е folding",
    "core/deals/service.py": "parsing: amounts typed as «450 тыс»",
    "core/users/service.py": "parsing: role names typed in Russian (/invite продавец)",
    "core/greetings/texts.py": (
        "greetings sent to clients, not to the team: core owns them (the scheduler sends "
        "them without the bot), as a ru/en table with a test that both languages match"
    ),
    "core/conversations/texts.py": (
        "the company bot's words to clients (welcome, auto-reply, flood notice): data an "
        "admin rewrites, composed by core, as greeting_texts.py"
    ),
    "core/migrations/versions/0002_search_and_stages.py": "seeded rows: the default stage names",
    "core/migrations/versions/0009_search_folds_yo.py": "SQL that folds ё into е",
    "exports/texts.py": "the spreadsheet codec's own ru/en locale table",
    "exports/contact_texts.py": "the contacts export/import codec's own ru/en locale table",
    "exports/contacts_import.py": "parsing: column headers of imported files",
    "exports/contacts_export.py": "column headers the import reads back (a codec table)",
    "exports/_table.py": "a currency symbol (сўм)",
    "core/conversations/order_texts.py": (
        "order-status notices to clients, composed by core and stored as the message's text "
        "(a ru/en table with a test that both languages match)"
    ),
    "api/schemas.py": "OpenAPI examples (Иван Петров), not a reply",
    "api/contacts.py": "parsing: a phone-number pattern",
    "app/cli_users.py": "CLI help naming the Russian role words it accepts",
    "core/documents/words.py": "parsing: Russian words found and ё read as е for the index",
    "core/documents/importer.py": "parsing: legal forms (ООО, ИП) in archive folder names",
}
# Inline Cyrillic in an allowed bot/ file outside a table: parser glue, never shown.
BOT_INLINE_GLUE = {("bot/dates.py", " в ")}
SINK_CALLS = {
    "answer",
    "send_message",
    "edit_text",
    "edit_message_text",
    "answer_callback_query",
    "reply",
    "Screen",
    "Button",
    "InlineKeyboardButton",
    "KeyboardButton",
}


def _sources(root: Path, packages: tuple[str, ...]) -> list[tuple[str, ast.Module]]:
    out = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            name = path.relative_to(root).as_posix()
            out.append((name, ast.parse(path.read_text(encoding="utf-8"), name)))
    return out


def _docstrings(tree: ast.Module) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _table_constants(tree: ast.Module) -> set[int]:
    """String constants inside module-level assignments to UPPER_CASE names."""
    found: set[int] = set()
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if targets and all(isinstance(t, ast.Name) and t.id.isupper() for t in targets):
            found |= {id(n) for n in ast.walk(node) if isinstance(n, ast.Constant)}
    return found


def cyrillic_literals(packages: tuple[str, ...], root: Path = ROOT) -> list[str]:
    """`path:line: text` of each Cyrillic literal that is not allowed where it is."""
    bad = []
    for name, tree in _sources(root, packages):
        docs, tables = _docstrings(tree), _table_constants(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            if id(node) in docs or not CYRILLIC.search(node.value):
                continue
            allowed = name in ALLOWED_CYRILLIC
            inline = id(node) not in tables and (name, node.value) not in BOT_INLINE_GLUE
            if allowed and name.startswith("bot/") and inline:
                allowed = False
            if not allowed:
                bad.append(f"{name}:{node.lineno}: {node.value[:60]!r}")
    return bad


def _literal_text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    if isinstance(node, ast.BinOp):
        return (_literal_text(node.left) or "") + (_literal_text(node.right) or "")
    return None


def literal_replies(packages: tuple[str, ...], root: Path = ROOT) -> list[str]:
    """`path:line: text` of each worded literal handed to something that shows it."""
    bad = []
    for name, tree in _sources(root, packages):
        for node in ast.walk(tree):
            shown: list[ast.expr] = []
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in SINK_CALLS:
                    shown = list(node.args)  # chat ids are never string literals
                    shown += [k.value for k in node.keywords if k.arg in ("text", "caption")]
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Attribute) and t.attr == "text" for t in node.targets
            ):
                shown = [node.value]
            for value in shown:
                text = _literal_text(value)
                if text and WORD.search(text):
                    bad.append(f"{name}:{node.lineno}: {text[:60]!r}")
    return bad


def test_no_cyrillic_literal_outside_the_allowed_tables() -> None:
    assert cyrillic_literals(PACKAGES) == []


def test_every_allowed_file_exists_and_gives_a_reason() -> None:
    for name, reason in ALLOWED_CYRILLIC.items():
        assert (ROOT / name).is_file(), name
        assert len(reason) > 10


def test_no_bot_reply_is_a_literal_sentence() -> None:
    assert literal_replies(("bot",)) == []


def test_the_scans_catch_what_they_are_for(tmp_path: Path) -> None:
    source = (
        "async def h(message, callback_answer):\n"
        "    await message.answer('Готово!')\n"
        "    await bot.send_message(1, f'Deal {x} saved')\n"
        "    callback_answer.text = 'Done'\n"
        "    Screen('Привет ' + name)\n"
        "    await message.answer(t('ok'))\n"
        "    await message.answer('✅')\n"
    )
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "h.py").write_text(source, encoding="utf-8")
    assert len(literal_replies(("pkg",), tmp_path)) == 4
    assert len(cyrillic_literals(("pkg",), tmp_path)) == 2


def test_the_bot_never_shows_an_iso_timestamp() -> None:
    calls = [
        f"{name}:{node.lineno}"
        for name, tree in _sources(ROOT, ("bot",))
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "isoformat"
    ]
    assert calls == []
