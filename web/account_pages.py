"""The two pages the account emails link to: confirm an address, choose a new password.

Opening a link only shows a form: the token is used by the form's POST, so a mail scanner or a
link preview that fetches the link changes nothing. The POST calls the same services as the
`verifyEmail` and `resetPassword` mutations and shows the outcome. Plain HTML with no script or
style, under a CSP that allows nothing but posting the form back here; the token is never
logged (the access log records paths without their query string).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from resources import Resources
from services import account_recovery, email_verification
from services.errors import DomainError

ACCOUNT_PAGE_CSP = "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
FORM_TYPE = "application/x-www-form-urlencoded"
CHOICE_FIELDS = (
    '<p><label>New password <input type="password" name="new_password" required '
    'autocomplete="new-password"></label></p>'
    '<p><label>Again <input type="password" name="again" required '
    'autocomplete="new-password"></label></p>'
)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title} · Shutter</title></head>
<body><main><h1>{title}</h1>{body}</main></body></html>
"""


def account_page_routes() -> list[Route]:
    """GET (the form) and POST (its answer) for /verify-email and /reset-password."""
    return [
        Route(f"/{email_verification.VERIFY_PATH}", _verify_email, methods=["GET", "POST"]),
        Route(f"/{account_recovery.RESET_PATH}", _reset_password, methods=["GET", "POST"]),
    ]


async def _verify_email(request: Request) -> HTMLResponse:
    title = "Confirm your email address"
    if request.method == "GET":
        return _form(title, request.query_params.get("token", ""), "Confirm my address", "")
    fields = await _form_fields(request)
    resources: Resources = request.app.state.resources
    return await _outcome(
        title,
        lambda: account_recovery.verify_email(resources.accounts, fields.get("token", "")),
        "Your email address is confirmed.",
    )


async def _reset_password(request: Request) -> HTMLResponse:
    title = "Choose a new password"
    token = request.query_params.get("token", "")
    if request.method == "GET":
        return _form(title, token, "Set the password", CHOICE_FIELDS)
    fields = await _form_fields(request)
    if fields.get("new_password") != fields.get("again"):
        return _form(
            title,
            fields.get("token", ""),
            "Set the password",
            "<p>The two passwords differ.</p>" + CHOICE_FIELDS,
            status=400,
        )
    resources: Resources = request.app.state.resources
    return await _outcome(
        title,
        lambda: account_recovery.reset_password(
            resources.accounts, fields.get("token", ""), fields.get("new_password", "")
        ),
        "Your password is changed, and every session of the account has ended: log in again.",
    )


async def _outcome(title: str, act: Callable[[], Awaitable[None]], done: str) -> HTMLResponse:
    try:
        await act()
    except DomainError as refused:
        messages = "".join(f"<p>{escape(error.message)}</p>" for error in refused.errors)
        return _page(title, messages, status=400)
    return _page(title, f"<p>{escape(done)}</p>")


async def _form_fields(request: Request) -> dict[str, str]:
    """The fields of a urlencoded form body (the body size limit applies upstream); empty for
    any other body."""
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM_TYPE:
        return {}
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=10)
    return {name: values[0] for name, values in parsed.items()}


def _form(title: str, token: str, button: str, extra: str, *, status: int = 200) -> HTMLResponse:
    body = (
        '<form method="post">'
        f'<input type="hidden" name="token" value="{escape(token)}">'
        f'{extra}<p><button type="submit">{escape(button)}</button></p></form>'
    )
    return _page(title, body, status=status)


def _page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=escape(title), body=body),
        status_code=status,
        headers={"content-security-policy": ACCOUNT_PAGE_CSP, "cache-control": "no-store"},
    )
