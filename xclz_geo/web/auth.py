"""Access token of the workbench.

With a token (``xclz-geo serve --token-file F``) every request must carry it: browsers
log in once on ``/login`` and then send a cookie, programs send ``Authorization: Bearer
<token>``. The cookie holds an HMAC of the token, not the token itself; every comparison
is constant-time (:func:`hmac.compare_digest`). Tokens are never logged.

Without a token (the default on 127.0.0.1, or ``--no-auth``) every request is let in.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from urllib.parse import quote

from xclz_geo.errors import InputFileError

__all__ = ["COOKIE", "MIN_TOKEN_CHARS", "TokenAuth", "read_token_file", "safe_next"]

#: name of the login cookie
COOKIE = "xclz_auth"
#: shortest token accepted from a token file
MIN_TOKEN_CHARS = 16
#: paths reachable without the token (the login page and the assets it needs)
OPEN_PATHS = ("/login", "/static/", "/favicon.ico")


def read_token_file(path: str | Path) -> str:
    """The token in a file (first line, surrounding spaces removed).

    Raises
    ------
    InputFileError
        When the file is missing or the token is shorter than :data:`MIN_TOKEN_CHARS` characters.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"{p}: cannot read the token file ({exc.strerror or exc})") from None
    token = (text.splitlines() or [""])[0].strip()
    if len(token) < MIN_TOKEN_CHARS:
        raise InputFileError(
            f"{p}: the token must be at least {MIN_TOKEN_CHARS} characters on the first line; make one with "
            "`python -c \"import secrets; print(secrets.token_urlsafe(24))\" > token.txt`"
        )
    return token


def safe_next(value: str | None) -> str:
    """A local path to return to after login (anything else becomes ``/``)."""
    v = value or "/"
    if not v.startswith("/") or v.startswith("//") or "\\" in v or any(ord(c) < 32 for c in v):
        return "/"
    return v


class TokenAuth:
    """Checks requests against one token (``None``: everyone is let in)."""

    def __init__(self, token: str | None) -> None:
        self.enabled = bool(token)
        self._token = (token or "").encode("utf-8")
        self._cookie = hmac.new(self._token, b"xclz-geo web login", hashlib.sha256).hexdigest() if token else ""

    def check_token(self, candidate: str | None) -> bool:
        """Whether ``candidate`` is the token (constant time)."""
        if not self.enabled or candidate is None:
            return not self.enabled
        return hmac.compare_digest(candidate.encode("utf-8"), self._token)

    def cookie_value(self) -> str:
        """The value of the login cookie."""
        return self._cookie

    def allowed(self, *, path: str, authorization: str | None, cookie: str | None) -> bool:
        """Whether a request may pass."""
        if not self.enabled or path.startswith(OPEN_PATHS):
            return True
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() == "bearer" and self.check_token(value.strip()):
                return True
        return bool(cookie) and hmac.compare_digest(cookie.encode("utf-8"), self._cookie.encode("utf-8"))

    @staticmethod
    def login_url(path: str, query: str = "") -> str:
        """The login page that returns to ``path`` afterwards."""
        target = path + (f"?{query}" if query else "")
        return "/login?next=" + quote(safe_next(target), safe="")
