"""Signing in and out, and the stylesheet (the one static file, served from the package)."""

from __future__ import annotations

import secrets
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from sergas.errors import AuthError
from sergas.web.auth import COOKIE, SIGNIN_COOKIE, same_origin, tokens_match
from sergas.web.render import HEADERS, HtmlRoute, PageError, page, redirect
from sergas.web.state import CurrentViewer, web_state

__all__ = ["router"]

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
_STATIC = {
    name: (resources.files("sergas.web").joinpath(f"static/{name}").read_bytes(), media)
    for name, media in (("dashboard.css", "text/css"), ("favicon.svg", "image/svg+xml"))
}


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (`//host`, `/\\host`, a scheme, or one
    of those with a tab or newline a browser would drop)."""
    if not target or not target.startswith("/") or not target.isprintable():
        return "/"
    if target[1:2] in ("/", "\\") or any(c.isspace() for c in target):
        return "/"
    return target


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _form(request: Request, error: str | None, target: str, status: int = 200) -> HTMLResponse:
    state = web_state(request)
    token = secrets.token_urlsafe(24)
    context = {
        "title": "Sign in",
        "nav": "",
        "viewer": None,
        "pending": None,
        "error": error,
        "form_token": token,
        "next": _safe_next(target),
        "hours": f"{state.settings.session_hours:g}",
    }
    response = page("signin.html", context, status=status)
    _cookie(request, response, SIGNIN_COOKIE, token, 3600)
    return response


@router.get("/signin")
async def signin_page(
    request: Request, next: Annotated[str | None, Query(max_length=2000)] = None
) -> HTMLResponse:
    return _form(request, None, next or "/")


@router.post("/signin")
async def signin(
    request: Request,
    api_key: Annotated[str, Form(max_length=200)],
    form: Annotated[str | None, Form()] = None,
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    if not same_origin(request) or not tokens_match(form, request.cookies.get(SIGNIN_COOKIE)):
        raise PageError(403, "Refused", "This sign-in form was not sent from this site.")
    state = web_state(request)
    try:
        token, _who = await state.sessions.sign_in(api_key)
    except AuthError as exc:
        return _form(request, f"Not signed in: {exc.message}.", next or "/", status=401)
    response = redirect(_safe_next(next))
    _cookie(request, response, COOKIE, token, int(state.settings.session_hours * 3600))
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    return response


@router.post("/signout")
async def signout(
    request: Request, viewer: CurrentViewer, csrf: Annotated[str | None, Form()] = None
) -> RedirectResponse:
    if not same_origin(request) or not tokens_match(csrf, viewer.csrf):
        raise PageError(403, "Refused", "This form was not sent from this site.")
    token = request.cookies.get(COOKIE)
    if token:
        await web_state(request).sessions.sign_out(token)
    response = redirect("/signin")
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in _STATIC:
        raise PageError(404, "Not found", "There is no such file.")
    body, media = _STATIC[name]
    headers = {k: v for k, v in HEADERS.items() if k != "Cache-Control"}
    headers["Cache-Control"] = "public, max-age=3600"
    return Response(body, media_type=media, headers=headers)


@router.get("/favicon.ico")
async def favicon() -> Response:
    return await static("favicon.svg")
