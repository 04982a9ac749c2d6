"""Pages as HTML: the Jinja2 environment (templates shipped in the package, autoescaped:
text from Zoho or an agent is always shown as text), the response headers every page
carries, and the route class that turns errors into pages instead of the API's JSON.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any
from urllib.parse import quote

import jinja2
import orjson
import structlog
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.routing import APIRoute
from markupsafe import Markup
from starlette.responses import Response

from sergas import errors
from sergas.access.keys import redact_keys
from sergas.errors import SergasError

__all__ = [
    "HtmlRoute",
    "PageError",
    "SignInRequired",
    "log",
    "page",
    "page_in_two_parts",
    "redirect",
    "render_part",
]

log = structlog.get_logger("sergas.web")

# No script, no frame, nothing from elsewhere: the page needs none of them.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class PageError(Exception):
    """A page that cannot be shown, with the status and a sentence saying why."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


class SignInRequired(Exception):
    """No session and no Bearer key: a browser is sent to the sign-in page."""


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _signed(value: int | None) -> str:
    if value is None:
        return "new"
    return f"{value:+d}" if value else "0"


def _json(value: Any) -> str:
    """A field value as JSON text (escaped by the template like any other text)."""
    return orjson.dumps(value).decode()


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sergas.web", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["signed"] = _signed
    env.filters["json"] = _json
    env.filters["thousands"] = lambda n: "–" if n is None else f"{n:,}"
    env.filters["slug"] = lambda s: str(s).lower().replace(" ", "-")
    return env


ENV = _environment()


def page(
    name: str, context: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> HTMLResponse:
    html = ENV.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers={**HEADERS, **(headers or {})})


def render_part(name: str, context: dict[str, Any]) -> Markup:
    """A part of a page, rendered (and escaped) by its own template, to be placed in a page
    as it is: for content worth rendering once and keeping."""
    return Markup(ENV.get_template(name).render(**context))


_LATER = Markup("<!--sergas:later-->")  # escaped text can never read as this


def page_in_two_parts(
    name: str, context: dict[str, Any], later: Callable[[], Awaitable[Markup]]
) -> StreamingResponse:
    """A page sent as it is ready: all of it but one part at once, then that part (where the
    template says `{{ later }}`) when `later()` has made it, in the same response. The
    browser shows the first part meanwhile; with JavaScript off too, since it is one page.
    The status is sent first, so `later()` shows its own failures as text on the page."""
    html = ENV.get_template(name).render(**context, later=_LATER)
    first, rest = html.split(_LATER)

    async def body() -> AsyncIterator[str]:
        yield first
        yield await later()
        yield rest

    return StreamingResponse(body(), media_type="text/html", headers=HEADERS)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=HEADERS)


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    viewer = getattr(request.state, "viewer", None)
    context = {
        "title": title,
        "nav": "",
        "message": redact_keys(message),
        "viewer": viewer,
        "pending": None,
        "status": status,
    }
    return page("error.html", context, status=status)


def page_status(exc: SergasError) -> int:
    """A page's status for an error: the few kinds a person tells apart. (The API answers
    with its full table, `sergas.service.errors`, a layer above this one.)"""
    if isinstance(exc, errors.NotFoundError):
        return 404
    if isinstance(exc, errors.PermissionDeniedError):
        return 403
    if isinstance(exc, errors.DatabaseError | errors.CircuitOpenError):
        return 503
    if isinstance(exc, errors.ConfigError):
        return 500
    return 502  # Zoho failed or refused: the gateway's side


class HtmlRoute(APIRoute):
    """Errors on a page become a page: sign in, not found, Zoho unreachable, a bad form.
    (The API's routes answer the same errors as JSON: `sergas.service.errors`.)"""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                if request.method != "GET":
                    return error_page(request, 401, "Sign in", "Sign in to do that.")
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return redirect(f"/signin?next={quote(target, safe='')}")
            except PageError as exc:
                return error_page(request, exc.status, exc.title, exc.message)
            except RequestValidationError:
                if request.method != "GET":
                    return error_page(request, 400, "Bad form", "The form was incomplete.")
                return error_page(request, 404, "Not found", "There is no such page.")
            except SergasError as exc:
                status = page_status(exc)
                if status >= 500:
                    log.warning("page failed", code=exc.code, status=status, error=exc.message)
                return error_page(request, status, "Something went wrong", exc.message)

        return run
