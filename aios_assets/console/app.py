"""The console's Starlette app: pages, actions, and the security middleware around them."""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aios_assets.console import actions, pages, seams
from aios_assets.console.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    Guard,
)

HERE = Path(__file__).resolve().parent
MAX_FORM_BYTES = 1_000_000
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
OPEN_PATHS = ("/login", "/static/", "/healthz")


def template_env() -> Environment:
    """Jinja2 with autoescaping on, and every printed string passed through the audit's
    redaction: a secret in a mail body or an error never reaches a page."""
    redact = seams.redactor()

    def finalize(value: Any) -> Any:
        return redact(value) if isinstance(value, str) else value

    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      finalize=finalize)
    env.filters["money"] = lambda v: "-" if v is None else f"${float(v):,.4f}"
    env.filters["short"] = lambda v, n=12: "" if v is None else str(v)[:n]
    env.filters["when"] = lambda v: "" if v is None else str(v)[:16].replace("T", " ")
    env.filters["pct"] = lambda v: "-" if v is None else f"{100 * float(v):.0f}%"
    return env


class SecurityMiddleware:
    """Session cookie, login gate, CSRF check on every POST, security headers."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # noqa: BLE001 - a mangled cookie header is no session
            cookie = SimpleCookie()
        morsel = cookie.get(SESSION_COOKIE)
        sid = self.guard.session_of(morsel.value if morsel else None)
        new_cookie = None
        if sid is None:
            sid, new_cookie = self.guard.new_session()
        scope.setdefault("state", {})["sid"] = sid
        scope["state"]["csrf"] = self.guard.csrf_token(sid)
        path = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"content-security-policy", CSP.encode()),
                         (b"x-content-type-options", b"nosniff"),
                         (b"x-frame-options", b"DENY"),
                         (b"referrer-policy", b"no-referrer")]
                if not path.startswith("/static/"):
                    extra.append((b"cache-control", b"no-store"))
                if new_cookie:
                    extra.append((b"set-cookie", (
                        f"{SESSION_COOKIE}={new_cookie}; Path=/; HttpOnly; SameSite=Strict"
                    ).encode()))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        if scope["method"] == "POST":
            body = b""
            more = True
            while more:
                msg = await receive()
                body += msg.get("body", b"")
                more = msg.get("more_body", False)
                if len(body) > MAX_FORM_BYTES:
                    await PlainTextResponse("request too large", 413)(scope, receive,
                                                                      send_with_headers)
                    return
            token = headers.get(CSRF_HEADER)
            if token is None:
                token = (parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD) or [None])[0]
            if new_cookie or not self.guard.csrf_ok(sid, token):
                await PlainTextResponse(
                    "refused: missing or wrong CSRF token (reload the page and try again)",
                    403)(scope, receive, send_with_headers)
                return
            sent = False

            async def replay() -> Message:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            receive = replay
        if not self.guard.logged_in(sid) and not path.startswith(OPEN_PATHS):
            await RedirectResponse("/login", 303)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


async def form_of(request: Request) -> dict[str, str]:
    """The urlencoded form (first value of each field); no multipart needed."""
    raw = (await request.body()).decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


class Console:
    """The routes; ``render`` adds the CSRF token, flash messages and the nav to every page."""

    def __init__(self, guard: Guard, decided_by: str = "operator") -> None:
        self.guard = guard
        self.decided_by = decided_by
        self.env = template_env()
        self._flash: dict[str, list[tuple[str, str]]] = {}

    def flash(self, request: Request, level: str, text: str) -> None:
        self._flash.setdefault(request.state.sid, []).append((level, text))

    def render(self, request: Request, name: str, code: int = 200, **ctx: Any) -> HTMLResponse:
        messages = self._flash.pop(request.state.sid, [])
        html = self.env.get_template(name).render(
            csrf_token=request.state.csrf, messages=messages, path=request.url.path,
            needs_login=self.guard.needs_login, **ctx)
        return HTMLResponse(html, code)

    async def guarded(self, request: Request, name: str, fn: Callable[[], dict[str, Any]],
                      ) -> Response:
        """Run a blocking read in a thread; a missing warehouse or Postgres is one line."""
        try:
            ctx = await run_in_threadpool(fn)
        except pages.NotFound as exc:
            return self.render(request, "error.html", code=404, title="Not found", error=str(exc))
        except (*seams.warehouse_errors(), *seams.recall_errors(), OSError) as exc:
            return self.render(request, "error.html", code=503, title="Not available",
                               error=str(exc))
        return self.render(request, name, **ctx)

    # --- pages ---------------------------------------------------------------------------

    async def today(self, request: Request) -> Response:
        return await self.guarded(request, "today.html", pages.today)

    async def proposals(self, request: Request) -> Response:
        status = request.query_params.get("status") or None
        return await self.guarded(request, "proposals.html",
                                  lambda: pages.proposal_list(status))

    async def proposal(self, request: Request) -> Response:
        pid = request.path_params["pid"]
        return await self.guarded(request, "proposal.html", lambda: pages.proposal(pid))

    async def people(self, request: Request) -> Response:
        q = request.query_params.get("q") or None
        return await self.guarded(request, "people.html", lambda: pages.people(q))

    async def person(self, request: Request) -> Response:
        eid = request.path_params["entity_id"]
        return await self.guarded(request, "person.html", lambda: pages.person(eid))

    async def search(self, request: Request) -> Response:
        params = {k: (request.query_params.get(k) or "").strip() for k in pages.SEARCH_FIELDS}
        name = "_hits.html" if request.headers.get("hx-request") else "search.html"
        return await self.guarded(request, name, lambda: pages.search(params))

    # --- actions -------------------------------------------------------------------------

    async def _act(self, request: Request, fn: Callable[[], actions.Outcome | list[str]],
                   back: str, done: Callable[[Any], str]) -> Response:
        try:
            result = await run_in_threadpool(fn)
        except (actions.ConsoleActionError, ValueError, *seams.warehouse_errors()) as exc:
            self.flash(request, "error", str(exc))
            return RedirectResponse(back, 303)
        self.flash(request, "ok", done(result))
        for w in getattr(result, "warnings", ()):
            self.flash(request, "warn", w)
        target = f"/proposals/{result.proposal_id}" if isinstance(result, actions.Outcome) \
            else back
        return RedirectResponse(target, 303)

    async def approve(self, request: Request) -> Response:
        pid = request.path_params["pid"]
        form = await form_of(request)
        return await self._act(request, lambda: actions.decide(
            pid, "approved", form.get("reason"), decided_by=self.decided_by),
            f"/proposals/{pid}", lambda r: r.message)

    async def reject(self, request: Request) -> Response:
        pid = request.path_params["pid"]
        form = await form_of(request)
        return await self._act(request, lambda: actions.decide(
            pid, "rejected", form.get("reason"), decided_by=self.decided_by),
            f"/proposals/{pid}", lambda r: r.message)

    async def edit(self, request: Request) -> Response:
        pid = request.path_params["pid"]
        form = await form_of(request)
        return await self._act(request, lambda: actions.edit_and_approve(
            pid, form.get("subject", ""), form.get("body", ""), decided_by=self.decided_by),
            f"/proposals/{pid}", lambda r: r.message)

    async def split(self, request: Request) -> Response:
        eid = request.path_params["entity_id"]
        form = await form_of(request)
        return await self._act(request, lambda: pages.split(eid, form.get("record", "")),
                               f"/people/{eid}", lambda added: "wrote "
                               f"{len(added)} cannot_link override(s); the next build "
                               "applies them")

    async def merge(self, request: Request) -> Response:
        eid = request.path_params["entity_id"]
        form = await form_of(request)
        return await self._act(request, lambda: pages.merge(eid, form.get("other", "")),
                               f"/people/{eid}", lambda lines: "wrote the merge override ("
                               + "; ".join(lines) + "); the next build applies it")

    # --- login ---------------------------------------------------------------------------

    async def login_page(self, request: Request) -> Response:
        if not self.guard.needs_login or self.guard.logged_in(request.state.sid):
            return RedirectResponse("/", 303)
        return self.render(request, "login.html", title="Log in")

    async def login(self, request: Request) -> Response:
        form = await form_of(request)
        if self.guard.login(request.state.sid, form.get("password", "")):
            return RedirectResponse("/", 303)
        return self.render(request, "login.html", code=401, title="Log in",
                           error="wrong password")

    async def logout(self, request: Request) -> Response:
        self.guard.logout(request.state.sid)
        return RedirectResponse("/login" if self.guard.needs_login else "/", 303)

    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok")


def create_app(guard: Guard | None = None, *, decided_by: str = "operator") -> ASGIApp:
    """The console as an ASGI app (``uvicorn`` serves it; tests too)."""
    guard = guard or Guard.from_env()
    c = Console(guard, decided_by=decided_by)
    routes = [
        Route("/", c.today),
        Route("/proposals", c.proposals),
        Route("/proposals/{pid}", c.proposal),
        Route("/proposals/{pid}/approve", c.approve, methods=["POST"]),
        Route("/proposals/{pid}/reject", c.reject, methods=["POST"]),
        Route("/proposals/{pid}/edit", c.edit, methods=["POST"]),
        Route("/people", c.people),
        Route("/people/{entity_id}", c.person),
        Route("/people/{entity_id}/split", c.split, methods=["POST"]),
        Route("/people/{entity_id}/merge", c.merge, methods=["POST"]),
        Route("/search", c.search),
        Route("/login", c.login_page),
        Route("/login", c.login, methods=["POST"]),
        Route("/logout", c.logout, methods=["POST"]),
        Route("/healthz", c.healthz),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes)
    return SecurityMiddleware(app, guard)

