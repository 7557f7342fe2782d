"""A fake Telegram Bot API server on 127.0.0.1 for driving the real aiogram `Bot` in tests.

What it promises, in the order a request meets it:
1. `POST|GET /bot<token>/<method>`; a token other than the configured one gets 401, like Telegram.
2. The body is read as aiogram sends it (multipart or urlencoded); JSON-string fields
   (`reply_markup`, `commands`, `scope`, …) are decoded, numeric ids become ints, and
   `attach://<name>` values are mapped back to their uploaded part (`Call.files`).
3. Every request is recorded in `calls` (method, decoded params, files, HTTP status, time).
4. Failures queued with `fail()` answer first, with HTTP status == `error_code` (aiogram picks its
   exception class from the status) and `parameters.retry_after` on 429. Before them, answers
   queued with `garble()` are sent as given: a proxy's HTML error page, an empty body, a
   non-JSON 200 (recorded in `calls` with their status, like any answer).
5. Otherwise the method is served: messages get increasing ids and are kept for edits,
   `getUpdates` is a real long poll (answers at once when `push_update` adds an update), and a set
   webhook makes `push_update` POST the update to it with the secret-token header instead.
`go_offline()` / `go_online()` close and reopen the listening socket (connection refused).
`copyMessage`/`copyMessages` make new messages that remember what they copy (`copy_of`);
a (chat, message) put in `uncopyable` is refused like protected content.
Files: `add_file()` stores what a user uploads (its `document` goes in the update); `getFile`
and `GET /file/bot<token>/<path>` serve it, and documents the bot sent, back as Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, ClientSession, ClientTimeout, web

TOKEN = "123456:TEST"
JSON_FIELDS = {
    "reply_markup",
    "entities",
    "caption_entities",
    "commands",
    "scope",
    "allowed_updates",
    "link_preview_options",
    "reply_parameters",
    "media",
    "results",
    "menu_button",
    "message_ids",
}
INT_FIELDS = {
    "chat_id",
    "from_chat_id",
    "message_id",
    "reply_to_message_id",
    "offset",
    "limit",
    "timeout",
    "user_id",
    "max_connections",
    "cache_time",
    "message_thread_id",
}
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # what the official server lets a bot download
BOOL_VALUES = {"true": True, "false": False}
ALWAYS_TRUE = {
    "answerCallbackQuery",
    "deleteMessage",
    "sendChatAction",
    "setChatMenuButton",
    "setMyDescription",
    "setMyShortDescription",
    "setMyName",
    "close",
    "logOut",
}
HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: message text is empty",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class UploadedFile:
    filename: str
    content: bytes


@dataclass
class Call:
    """One request the bot made: decoded params, uploads by field name, how it was answered."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    status: int
    at: float  # time.monotonic() when the request arrived
    result: Any = None  # what a successful call answered (the message it became, …)

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None


@dataclass
class _Failure:
    method: str  # "*" for any method
    status: int
    description: str
    retry_after: int | None
    remaining: int
    chat_id: int | None
    after: int = 0  # matching calls answered normally before the failures begin


@dataclass
class _RawAnswer:
    method: str  # "*" for any method
    status: int
    body: bytes
    content_type: str
    remaining: int
    headers: dict[str, str]


@dataclass
class _Message:
    chat_id: int
    text: str | None
    reply_markup: Any
    extra: dict[str, Any] = field(default_factory=dict)


class FakeTelegram:
    """The fake server; `await start()` returns its base URL for `TelegramAPIServer.from_base`."""

    def __init__(
        self, *, token: str = TOKEN, username: str = "perezvon_test_bot", first_name: str = "Test"
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.username = username
        self.first_name = first_name
        self.calls: list[Call] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status)
        self.delay = 0.0  # seconds added before answering each request (slow network)
        self._closing = False
        self.polled = asyncio.Event()  # set by the first getUpdates (polling has started)
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._next_message_id = 1
        self._messages: dict[tuple[int, int], _Message] = {}
        self.files: dict[str, UploadedFile] = {}  # by file_id
        self.uncopyable: set[tuple[int, int]] = set()  # (chat, message) copyMessage refuses
        # Telegram Business connections getBusinessConnection answers with, by id.
        self.business_connections: dict[str, dict[str, Any]] = {}
        self._failures: list[_Failure] = []
        self._raw_answers: list[_RawAnswer] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._http: ClientSession | None = None
        self.port = 0

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await self._listen()
        return self.url

    async def stop(self) -> None:
        async with self._changed:  # end the long polls still waiting
            self._closing = True
            self._changed.notify_all()
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await self._site.start()
        server = self._site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def go_offline(self) -> None:
        """Close the listening socket: new requests get "connection refused"."""
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def go_online(self) -> None:
        """Listen again on the same port."""
        if self._site is None:
            await self._listen()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what tests call ------------------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
        after: int = 0,
    ) -> None:
        """Answer the next `times` calls of `method` ("*": any) with this error (once `after`
        matching calls have been answered as usual)."""
        text = description or DEFAULT_DESCRIPTIONS.get(status, "Error")
        self._failures.append(
            _Failure(
                method,
                status,
                text.format(retry_after=retry_after),
                retry_after,
                times,
                chat_id,
                after,
            )
        )

    def garble(
        self,
        method: str,
        status: int = 502,
        body: bytes | str = HTML_502,
        *,
        content_type: str = "text/html",
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` ("*": any) with this raw body, not JSON:
        an HTML error page by default, `b""` for an empty body, any bytes for garbage;
        `headers` too (e.g. a `Location` that redirects)."""
        raw = body.encode() if isinstance(body, str) else body
        answer = _RawAnswer(method, status, raw, content_type, times, dict(headers or {}))
        self._raw_answers.append(answer)

    def clear_failures(self) -> None:
        self._failures.clear()
        self._raw_answers.clear()

    async def push_updates(self, updates: list[dict[str, Any]]) -> None:
        """Queue several updates at once: the next getUpdates answers them together (a backlog,
        as Telegram holds after an outage or a busy minute)."""
        async with self._changed:
            for update in updates:
                self._updates.append({**update, "update_id": self._next_update_id})
                self._next_update_id += 1
            self._changed.notify_all()

    async def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates (or POST it to the webhook when one is set)."""
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(update["update_id"])) + 1
        if self.webhook is not None:
            await self._deliver_to_webhook(update)
            return int(update["update_id"])
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return int(update["update_id"])

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        """Successful calls of `method` (to one chat when given), oldest first."""
        return [
            c
            for c in self.calls
            if c.method == method and c.status == 200 and (chat_id is None or c.chat_id == chat_id)
        ]

    async def wait_for(
        self,
        method: str = "sendMessage",
        count: int = 1,
        *,
        within: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until `count` successful calls of `method` (matching `where`) were recorded."""

        def matching() -> list[Call]:
            return [c for c in self.sent(method) if where is None or where(c)]

        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(matching()) >= count)
        return matching()

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The current text and markup of a message the bot sent (after edits)."""
        stored = self._messages.get((chat_id, message_id))
        if stored is None:
            return None
        return {"text": stored.text, "reply_markup": stored.reply_markup, **stored.extra}

    def add_file(
        self, content: bytes, filename: str, mime_type: str | None = None
    ) -> dict[str, Any]:
        """Store a file a user uploads; returns the `document` object for a message update."""
        file_id = f"upload{len(self.files) + 1}"
        self.files[file_id] = UploadedFile(filename, content)
        document: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_name": filename,
            "file_size": len(content),
        }
        if mime_type:
            document["mime_type"] = mime_type
        return document

    # -- the HTTP side --------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await _read_params(request)
        arrived = time.monotonic()
        if self.delay:
            await asyncio.sleep(self.delay)
        raw = self._take_raw_answer(method)
        if raw is not None:
            async with self._changed:
                self.calls.append(Call(method, params, files, raw.status, arrived))
                self._changed.notify_all()
            return web.Response(
                body=raw.body, status=raw.status, content_type=raw.content_type, headers=raw.headers
            )
        if request.match_info["token"] != self.token:
            status, body = 401, _error(401, "Unauthorized")
        else:
            status, body = await self._answer(method, params, files)
        result = body.get("result") if status == 200 and isinstance(body, dict) else None
        async with self._changed:
            self.calls.append(Call(method, params, files, status, arrived, result))
            self._changed.notify_all()
        return web.json_response(body, status=status)

    async def _download(self, request: web.Request) -> web.Response:
        """A file's bytes by the `file_path` getFile gave (the path is the file_id here)."""
        upload = self.files.get(request.match_info["path"])
        ok = request.match_info["token"] == self.token and upload is not None
        async with self._changed:
            self.calls.append(
                Call(
                    "downloadFile",
                    dict(request.match_info),
                    {},
                    200 if ok else 404,
                    time.monotonic(),
                )
            )
            self._changed.notify_all()
        if not ok or upload is None:
            return web.json_response(_error(404, "Not Found"), status=404)
        return web.Response(body=upload.content, content_type="application/octet-stream")

    async def _answer(
        self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> tuple[int, dict[str, Any]]:
        failure = self._take_failure(method, params)
        if failure is not None:
            return failure.status, _error(failure.status, failure.description, failure.retry_after)
        if method == "getUpdates":
            return await self._get_updates(params)
        handler = _HANDLERS.get(method)
        if handler is not None:
            return handler(self, params, files)
        if method in ALWAYS_TRUE:
            return 200, {"ok": True, "result": True}
        return 404, _error(404, "Not Found: method not found")

    def _take_raw_answer(self, method: str) -> _RawAnswer | None:
        for raw in self._raw_answers:
            if raw.method in (method, "*"):
                raw.remaining -= 1
                if raw.remaining <= 0:
                    self._raw_answers.remove(raw)
                return raw
        return None

    def _take_failure(self, method: str, params: dict[str, Any]) -> _Failure | None:
        for failure in self._failures:
            if failure.method not in (method, "*"):
                continue
            if failure.chat_id is not None and params.get("chat_id") != failure.chat_id:
                continue
            if failure.after > 0:
                failure.after -= 1
                return None
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.remove(failure)
            return failure
        return None

    async def _get_updates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.webhook is not None:
            return 409, _error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self.polled.set()
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        async with self._changed:
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(lambda: bool(self._updates) or self._closing)
            return 200, {"ok": True, "result": self._updates[:limit]}

    async def _deliver_to_webhook(self, update: dict[str, Any]) -> None:
        assert self.webhook is not None
        if self._http is None:
            self._http = ClientSession(timeout=ClientTimeout(total=60))
        headers = {}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        async with self._http.post(self.webhook["url"], json=update, headers=headers) as resp:
            body = await resp.read()
            self.webhook_deliveries.append((int(update["update_id"]), resp.status))
        # Like Telegram: a method in the webhook answer is executed.
        if resp.status == 200 and body.strip().startswith(b"{"):
            reply = json.loads(body)
            if isinstance(reply, dict) and "method" in reply:
                name = str(reply.pop("method"))
                status, _ = await self._answer(name, _decode_fields(reply), {})
                async with self._changed:
                    self.calls.append(Call(name, reply, {}, status, time.monotonic()))
                    self._changed.notify_all()

    # -- served methods -------------------------------------------------------------------

    def _me(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def new_message_id(self) -> int:
        """A message id for a message a user sends (an update to push): Telegram numbers the
        messages of a private chat in one sequence, both sides', so a user's message never has
        the id of one the bot sent there (ids here are unique across all chats)."""
        message_id = self._next_message_id
        self._next_message_id += 1
        return message_id

    def _new_message(
        self, params: dict[str, Any], extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise _BadRequest("Bad Request: chat not found")
        message_id = self.new_message_id()
        markup = params.get("reply_markup")
        text = params.get("text")
        self._messages[(chat_id, message_id)] = _Message(chat_id, text, markup, dict(extra or {}))
        return self._message(chat_id, message_id, text, markup, **(extra or {}))

    def _edit(self, params: dict[str, Any], *, text_changes: bool) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return True
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        if not isinstance(chat_id, int) or not isinstance(message_id, int):
            raise _BadRequest("Bad Request: message identifier is not specified")
        # A message the fake never sent (a test built the callback by hand) is taken as existing.
        stored = self._messages.setdefault((chat_id, message_id), _Message(chat_id, None, None))
        text = params.get("text") if text_changes else stored.text
        markup = params.get("reply_markup")
        if text == stored.text and markup == stored.reply_markup:
            raise _BadRequest(
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message"
            )
        stored.text, stored.reply_markup = text, markup
        return self._message(chat_id, message_id, text, markup, edit_date=int(time.time()))

    def _message(
        self, chat_id: int, message_id: int, text: str | None, markup: Any, **fields: Any
    ) -> dict[str, Any]:
        """A message of the bot's as the Bot API returns it (its inline keyboard, if any)."""
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": self._me(),
            **fields,
        }
        if text is not None:
            message["text"] = text
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message


class _BadRequest(Exception):
    pass


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "User"}
    return {"id": chat_id, "type": "group", "title": "Group"}


def _ok(result: Any) -> tuple[int, dict[str, Any]]:
    return 200, {"ok": True, "result": result}


def _error(status: int, description: str, retry_after: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return body


def _guard(
    serve: Callable[[FakeTelegram, dict[str, Any], dict[str, UploadedFile]], Any],
) -> Callable[[FakeTelegram, dict[str, Any], dict[str, UploadedFile]], tuple[int, dict[str, Any]]]:
    def wrapped(
        fake: FakeTelegram, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> tuple[int, dict[str, Any]]:
        try:
            return _ok(serve(fake, params, files))
        except _BadRequest as exc:
            return 400, _error(400, str(exc))

    return wrapped


def _send_message(fake: FakeTelegram, params: dict[str, Any], _f: Any) -> Any:
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _BadRequest("Bad Request: message text is empty")
    if len(text) > 4096:
        raise _BadRequest("Bad Request: message is too long")
    return fake._new_message(params)


def _send_document(fake: FakeTelegram, params: dict[str, Any], files: dict[str, Any]) -> Any:
    upload = files.get("document")
    reference = params.get("document")
    if upload is None and isinstance(reference, str) and reference:
        # By a file_id, as Telegram allows: one it knows is sent again, anything else refused
        # (expired, another bot's); FakeTelegram.files is what it knows.
        known = fake.files.get(reference)
        if known is None:
            raise _BadRequest("Bad Request: wrong file identifier/HTTP URL specified")
        upload = known
    if upload is None:
        raise _BadRequest("Bad Request: there is no document in the request")
    caption = params.get("caption")
    if isinstance(caption, str) and len(caption) > 1024:
        raise _BadRequest("Bad Request: message caption is too long")
    document = {
        "file_id": f"doc{fake._next_message_id}",
        "file_unique_id": f"u{fake._next_message_id}",
        "file_name": upload.filename,
        "file_size": len(upload.content),
    }
    if isinstance(reference, str) and reference in fake.files:
        document["file_id"] = reference
    fake.files[document["file_id"]] = upload
    extra: dict[str, Any] = {"document": document}
    if caption:
        extra["caption"] = caption
    return fake._new_message(params, extra)


def _send_media(field: str) -> Callable[[FakeTelegram, dict[str, Any], Any], Any]:
    """sendVoice / sendPhoto by a file_id the fake was told about (a user's upload)."""

    def send(fake: FakeTelegram, params: dict[str, Any], _f: Any) -> Any:
        file_id = params.get(field)
        if not isinstance(file_id, str) or not file_id:
            raise _BadRequest(f"Bad Request: there is no {field} in the request")
        return fake._new_message(params, {field: {"file_id": file_id}})

    return send


def _copy_one(fake: FakeTelegram, params: dict[str, Any], message_id: Any) -> dict[str, Any]:
    """copyMessage: a new message in `chat_id`, remembering what it copies (`copy_of`)."""
    from_chat = params.get("from_chat_id")
    if not isinstance(from_chat, int) or not isinstance(message_id, int):
        raise _BadRequest("Bad Request: message to copy not found")
    if (from_chat, message_id) in fake.uncopyable:
        raise _BadRequest("Bad Request: message can't be copied")
    extra: dict[str, Any] = {"copy_of": [from_chat, message_id]}
    caption = params.get("caption")
    if isinstance(caption, str):
        if len(caption) > 1024:
            raise _BadRequest("Bad Request: message caption is too long")
        extra["caption"] = caption
    target = {"chat_id": params.get("chat_id"), "reply_markup": params.get("reply_markup")}
    return {"message_id": fake._new_message(target, extra)["message_id"]}


def _copy_message(fake: FakeTelegram, params: dict[str, Any], _f: Any) -> Any:
    return _copy_one(fake, params, params.get("message_id"))


def _copy_messages(fake: FakeTelegram, params: dict[str, Any], _f: Any) -> Any:
    ids = params.get("message_ids")
    if not isinstance(ids, list) or not ids:
        raise _BadRequest("Bad Request: message identifiers are not specified")
    plain = {k: v for k, v in params.items() if k not in ("caption", "reply_markup")}
    return [_copy_one(fake, plain, message_id) for message_id in ids]


def _get_file(fake: FakeTelegram, params: dict[str, Any], _f: Any) -> Any:
    file_id = str(params.get("file_id") or "")
    upload = fake.files.get(file_id)
    if upload is None:
        raise _BadRequest("Bad Request: invalid file_id")
    size = len(upload.content)
    if size > DOWNLOAD_LIMIT:
        raise _BadRequest("Bad Request: file is too big")
    return {
        "file_id": file_id,
        "file_unique_id": f"u-{file_id}",
        "file_size": size,
        "file_path": file_id,
    }


def _set_commands(fake: FakeTelegram, params: dict[str, Any], _f: Any) -> Any:
    scope = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
    fake.commands[(scope, str(params.get("language_code") or ""))] = list(params["commands"])
    return True


def _delete_commands(fake: FakeTelegram, params: dict[str, Any], _f: Any) -> Any:
    scope = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
    fake.commands.pop((scope, str(params.get("language_code") or "")), None)
    return True


def _get_commands(fake: FakeTelegram, params: dict[str, Any], _f: Any) -> Any:
    scope = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
    return fake.commands.get((scope, str(params.get("language_code") or "")), [])


def _set_webhook(fake: FakeTelegram, params: dict[str, Any], _f: Any) -> Any:
    url = params.get("url")
    if not url:
        fake.webhook = None
        return True
    fake.webhook = {"url": url, "secret_token": params.get("secret_token")}
    return True


def _delete_webhook(fake: FakeTelegram, params: dict[str, Any], _f: Any) -> Any:
    fake.webhook = None
    if params.get("drop_pending_updates"):
        fake._updates.clear()
    return True


def _webhook_info(fake: FakeTelegram, _p: dict[str, Any], _f: Any) -> Any:
    url = fake.webhook["url"] if fake.webhook else ""
    return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}


def _get_business_connection(fake: FakeTelegram, params: dict[str, Any], _f: Any) -> Any:
    connection = fake.business_connections.get(str(params.get("business_connection_id") or ""))
    if connection is None:
        raise _BadRequest("Bad Request: BUSINESS_CONNECTION_INVALID")
    return connection


_HANDLERS = {
    "getMe": _guard(lambda fake, _p, _f: fake._me()),
    "sendMessage": _guard(_send_message),
    "sendDocument": _guard(_send_document),
    "sendVoice": _guard(_send_media("voice")),
    "sendPhoto": _guard(_send_media("photo")),
    "sendVideo": _guard(_send_media("video")),
    "sendAudio": _guard(_send_media("audio")),
    "sendAnimation": _guard(_send_media("animation")),
    "sendVideoNote": _guard(_send_media("video_note")),
    "copyMessage": _guard(_copy_message),
    "copyMessages": _guard(_copy_messages),
    "getFile": _guard(_get_file),
    "editMessageText": _guard(lambda fake, p, _f: fake._edit(p, text_changes=True)),
    "editMessageReplyMarkup": _guard(lambda fake, p, _f: fake._edit(p, text_changes=False)),
    "setMyCommands": _guard(_set_commands),
    "deleteMyCommands": _guard(_delete_commands),
    "getMyCommands": _guard(_get_commands),
    "setWebhook": _guard(_set_webhook),
    "deleteWebhook": _guard(_delete_webhook),
    "getWebhookInfo": _guard(_webhook_info),
    "getChat": _guard(lambda _fake, p, _f: {"id": p.get("chat_id"), "type": "private"}),
    "getBusinessConnection": _guard(_get_business_connection),
}


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """The request's fields as aiogram sent them, decoded, and its uploaded parts by name."""
    raw: dict[str, str] = {}
    uploads: dict[str, UploadedFile] = {}
    content_type = request.content_type
    if content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                uploads[part.name] = UploadedFile(part.filename, bytes(await part.read()))
            else:
                raw[part.name] = await part.text()
    elif content_type == "application/json":
        body = await request.json()
        raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
    else:
        form = await request.post()
        raw = {k: v for k, v in form.items() if isinstance(v, str)}
    for key, value in request.query.items():
        raw.setdefault(key, value)
    params = _decode_fields(raw)
    files: dict[str, UploadedFile] = {}
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value.removeprefix("attach://"))
            if upload is not None:
                files[key] = upload
    return params, files


def _decode_fields(raw: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            params[key] = value
        elif key in JSON_FIELDS:
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        elif key in INT_FIELDS:
            try:
                params[key] = int(value)
            except ValueError:
                params[key] = value
        elif value in BOOL_VALUES:
            params[key] = BOOL_VALUES[value]
        else:
            params[key] = value
    return params
