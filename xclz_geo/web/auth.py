"""Access token of the workbench.

With a token (``xclz-geo serve --token-file F``) every request must carry it: browsers
log in once on ``/login`` and then send a cookie, programs send ``Authorization: Bearer
<token>``. The cookie holds an HMAC of the token, not the token itself; every comparison
is constant-time (:func:`hmac.compare_digest`). Tokens are never logged.

Without a token (the default on 127.0.0.1, or ``--no-auth``) every request is let in.

A second, *admin* token (``--admin-token-file F`` or the environment variable ``XCLZ_ADMIN_TOKEN``)
guards replacing the zone's boundaries (upload, preview, confirm a new version): only a request
carrying it (``Authorization: Bearer <admin token>`` or the cookie of a login with it) has the
``admin`` role. The admin token also lets its holder in wherever the user token does. Only
SHA-256 digests of the tokens are kept in memory; they are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from urllib.parse import quote

from xclz_geo.errors import InputFileError

__all__ = ["ADMIN_ENV", "COOKIE", "MIN_TOKEN_CHARS", "TokenAuth", "read_admin_token", "read_token_file", "safe_next"]

#: name of the login cookie
COOKIE = "xclz_auth"
#: shortest token accepted from a token file
MIN_TOKEN_CHARS = 16
#: paths reachable without the token (the login page and the assets it needs)
OPEN_PATHS = ("/login", "/static/", "/favicon.ico")
#: environment variable with the admin token (an alternative to ``--admin-token-file``)
ADMIN_ENV = "XCLZ_ADMIN_TOKEN"


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


def read_admin_token(path: str | Path | None = None, *, environ: "dict[str, str] | None" = None) -> str | None:
    """The admin token: from ``path`` (``--admin-token-file``), else from :data:`ADMIN_ENV`, else ``None``.

    Raises
    ------
    InputFileError
        When the file is missing or the token (file or variable) is shorter than :data:`MIN_TOKEN_CHARS`.
    """
    import os

    if path:
        return read_token_file(path)
    value = (os.environ if environ is None else environ).get(ADMIN_ENV, "").strip()
    if not value:
        return None
    if len(value) < MIN_TOKEN_CHARS:
        raise InputFileError(f"{ADMIN_ENV}: the admin token must be at least {MIN_TOKEN_CHARS} characters")
    return value


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def safe_next(value: str | None) -> str:
    """A local path to return to after login (anything else becomes ``/``)."""
    v = value or "/"
    if not v.startswith("/") or v.startswith("//") or "\\" in v or any(ord(c) < 32 for c in v):
        return "/"
    return v


class TokenAuth:
    """Checks requests against the user token and the admin token (``None``: not configured).

    Roles: ``admin`` (the admin token), ``user`` (the user token, or anyone when no user token is set),
    ``None`` (refused). :attr:`admin_required` is true when boundary replacement needs the admin role:
    whenever any token is configured (without an admin token, nobody then has that role).
    """

    def __init__(self, token: str | None, admin_token: str | None = None) -> None:
        self.enabled = bool(token)
        self.admin_enabled = bool(admin_token)
        if token and admin_token and hmac.compare_digest(_digest(token), _digest(admin_token)):
            raise ValueError("the admin token must differ from the user token")
        self._token = _digest(token) if token else b""
        self._admin = _digest(admin_token) if admin_token else b""
        self._cookie = hmac.new(self._token, b"xclz-geo web login", hashlib.sha256).hexdigest() if token else ""
        self._admin_cookie = hmac.new(self._admin, b"xclz-geo web admin login", hashlib.sha256).hexdigest() if admin_token else ""

    @property
    def admin_required(self) -> bool:
        """Whether replacing boundaries needs the admin role (false only with no token at all: today's loopback use)."""
        return self.enabled or self.admin_enabled

    def check_token(self, candidate: str | None) -> bool:
        """Whether ``candidate`` is the user token (constant time); with no user token, always true.
        The admin token counts too (its holder may do everything a user may)."""
        if not self.enabled:
            return True
        return candidate is not None and (hmac.compare_digest(_digest(candidate), self._token) or self.check_admin(candidate))

    def check_admin(self, candidate: str | None) -> bool:
        """Whether ``candidate`` is the admin token (constant time); false when none is configured."""
        return self.admin_enabled and candidate is not None and hmac.compare_digest(_digest(candidate), self._admin)

    def cookie_value(self, *, admin: bool = False) -> str:
        """The value of the login cookie (of an admin login with ``admin``)."""
        return self._admin_cookie if admin else self._cookie

    def _bearer(self, authorization: str | None) -> str | None:
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None

    def role(self, *, authorization: str | None, cookie: str | None) -> str | None:
        """``"admin"``, ``"user"`` or ``None`` (no valid token where one is needed, or a wrong bearer token)."""
        bearer = self._bearer(authorization)
        if bearer is not None:
            if self.check_admin(bearer):
                return "admin"
            if self.enabled and hmac.compare_digest(_digest(bearer), self._token):
                return "user"
            if self.enabled or self.admin_enabled:
                return None  # a token was sent and it is none of ours
        if cookie:
            if self.admin_enabled and hmac.compare_digest(cookie.encode("utf-8"), self._admin_cookie.encode("utf-8")):
                return "admin"
            if self.enabled and hmac.compare_digest(cookie.encode("utf-8"), self._cookie.encode("utf-8")):
                return "user"
        return None if self.enabled else "user"

    def allowed(self, *, path: str, authorization: str | None, cookie: str | None) -> bool:
        """Whether a request may pass."""
        if path.startswith(OPEN_PATHS):
            return True
        return self.role(authorization=authorization, cookie=cookie) is not None

    @staticmethod
    def login_url(path: str, query: str = "") -> str:
        """The login page that returns to ``path`` afterwards."""
        target = path + (f"?{query}" if query else "")
        return "/login?next=" + quote(safe_next(target), safe="")
