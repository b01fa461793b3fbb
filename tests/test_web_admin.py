"""The admin role of the web workbench: only the admin token replaces boundaries; queries and tables stay on the user token."""

from __future__ import annotations

import logging

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from test_web import _redline_dxf  # noqa: E402
from xclz_geo.web.app import create_app  # noqa: E402
from xclz_geo.web.auth import TokenAuth, read_admin_token  # noqa: E402

pytestmark = pytest.mark.filterwarnings("always::xclz_geo.errors.XclzGeoWarning")

USER = "user-token-for-tests-0123456789"
ADMIN = "admin-token-for-tests-9876543210"
SITE = {"x": 119.4681, "y": 30.8931, "datum": "gcj02"}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _preview(c: TestClient, dxf, headers: dict[str, str] | None = None):
    return c.post("/api/boundaries/preview", files={"file": ("红线.dxf", dxf.read_bytes())}, headers=headers or {},
                  data={"part_id": "guangde_main", "select": "Layer=红线", "quality": "official"})


def test_user_token_cannot_replace_boundaries_admin_token_can(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="xclz_geo.web")
    dxf = tmp_path / "红线.dxf"
    _redline_dxf(dxf)
    with TestClient(create_app(data_dir=tmp_path / "wb", token=USER, admin_token=ADMIN)) as c:
        v1 = c.get("/api/boundaries", headers=_bearer(USER)).json()["current"]
        # the user token: queries and table uploads work, boundary replacement is refused with a clear 403
        assert c.get("/api/locate", params=SITE, headers=_bearer(USER)).status_code == 200
        job = c.post("/api/jobs/locate", files={"file": ("a.csv", b"lon,lat\n119.4681,30.8931\n")}, data={"datum": "gcj02"},
                     headers=_bearer(USER))
        assert job.status_code == 202, job.text
        staged = set((tmp_path / "wb" / "staged").iterdir())
        r = _preview(c, dxf, _bearer(USER))
        assert r.status_code == 403
        assert "administrator" in r.json()["error"] and "admin token" in r.json()["error"]
        assert set((tmp_path / "wb" / "staged").iterdir()) == staged  # nothing was staged
        assert c.get("/api/boundaries", headers=_bearer(USER)).json()["can_replace"] is False
        # a wrong token: 401 everywhere, also on the admin routes
        assert _preview(c, dxf, _bearer("not-a-token-at-all-000000")).status_code == 401
        assert c.get("/api/locate", params=SITE, headers=_bearer("nope")).status_code == 401
        # the admin token: stage, then a user cannot confirm it, the admin can
        r = _preview(c, dxf, _bearer(ADMIN))
        assert r.status_code == 200, r.text
        sid = r.json()["staged_id"]
        assert c.post(f"/api/boundaries/staged/{sid}/confirm", headers=_bearer(USER)).status_code == 403
        assert c.get("/api/boundaries", headers=_bearer(USER)).json()["current"] == v1
        ok = c.post(f"/api/boundaries/staged/{sid}/confirm", headers=_bearer(ADMIN))
        assert ok.status_code == 200, ok.text
        v2 = ok.json()["boundary_version"]
        assert v2 != v1 and c.get("/api/boundaries", headers=_bearer(ADMIN)).json()["current"] == v2
        # the admin token also does what the user token does
        assert c.get("/api/locate", params=SITE, headers=_bearer(ADMIN)).json()["boundary_version"] == v2
        assert c.get("/api/health", headers=_bearer(ADMIN)).json()["boundary_replacement"] == "admin"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert ADMIN not in text and USER not in text
    assert "POST /api/boundaries/preview 403" in text


def test_pages_hide_the_upload_form_from_users_and_show_it_to_the_admin(tmp_path):
    with TestClient(create_app(data_dir=tmp_path, token=USER, admin_token=ADMIN)) as c:
        assert c.post("/login", data={"token": USER}, follow_redirects=False).status_code == 303
        page = c.get("/boundaries").text
        assert 'id="admin-notice"' in page and "只有管理员可以替换边界" in page and "Only an administrator" in page
        assert 'action="/boundaries"' not in page  # no upload form
        r = c.post("/boundaries", files={"file": ("x.dxf", b"0\nEOF\n")}, data={"part_id": "guangde_main"})
        assert r.status_code == 403 and "administrator" in r.json()["error"]
        # an admin login (same form, the admin token) gets the form and the role in the header
        good = c.post("/login", data={"token": ADMIN}, follow_redirects=False)
        assert good.status_code == 303 and ADMIN not in good.headers["set-cookie"]
        page = c.get("/boundaries").text
        assert 'action="/boundaries"' in page and 'id="role-admin"' in page and "管理员令牌登录" in page
        assert c.get("/batch").status_code == 200  # the admin cookie lets the browser in everywhere
        bad = c.post("/login", data={"token": "wrong-token-wrong-token"}, follow_redirects=False)
        assert bad.status_code == 401


def test_loopback_without_tokens_keeps_todays_behaviour_and_says_so(tmp_path):
    dxf = tmp_path / "红线.dxf"
    _redline_dxf(dxf)
    with TestClient(create_app(data_dir=tmp_path / "wb")) as c:
        page = c.get("/boundaries").text
        assert 'action="/boundaries"' in page
        assert "只有管理员能替换边界" in page and "--admin-token-file" in page  # what an admin token would change
        assert _preview(c, dxf).status_code == 200
        assert c.get("/api/health").json()["boundary_replacement"] == "open"


def test_admin_token_alone_guards_only_the_boundaries(tmp_path):
    """On 127.0.0.1 with only an admin token: everyone may query, only the admin may replace boundaries."""
    dxf = tmp_path / "红线.dxf"
    _redline_dxf(dxf)
    with TestClient(create_app(data_dir=tmp_path / "wb", admin_token=ADMIN)) as c:
        assert c.get("/api/locate", params=SITE).status_code == 200
        assert _preview(c, dxf).status_code == 403
        assert "只有管理员可以替换边界" in c.get("/boundaries").text
        assert _preview(c, dxf, _bearer(ADMIN)).status_code == 200


def test_user_token_without_admin_token_switches_replacement_off(tmp_path):
    dxf = tmp_path / "红线.dxf"
    _redline_dxf(dxf)
    with TestClient(create_app(data_dir=tmp_path / "wb", token=USER)) as c:
        r = _preview(c, dxf, _bearer(USER))
        assert r.status_code == 403 and "--admin-token-file" in r.json()["error"]
        c.post("/login", data={"token": USER})
        page = c.get("/boundaries").text
        assert "未设管理员令牌" in page and 'action="/boundaries"' not in page


def test_token_auth_keeps_digests_and_compares_roles():
    auth = TokenAuth(USER, ADMIN)
    assert USER.encode() not in vars(auth).values() and ADMIN.encode() not in vars(auth).values()
    assert auth.role(authorization=f"Bearer {ADMIN}", cookie=None) == "admin"
    assert auth.role(authorization=f"Bearer {USER}", cookie=None) == "user"
    assert auth.role(authorization="Bearer x", cookie=auth.cookie_value(admin=True)) is None  # a wrong token is wrong
    assert auth.role(authorization=None, cookie=auth.cookie_value(admin=True)) == "admin"
    assert auth.role(authorization=None, cookie=auth.cookie_value()) == "user"
    assert auth.cookie_value() != auth.cookie_value(admin=True)
    with pytest.raises(ValueError, match="differ"):
        TokenAuth(USER, USER)


def test_admin_token_from_file_or_environment(tmp_path):
    from xclz_geo.errors import InputFileError

    f = tmp_path / "admin.txt"
    f.write_text(ADMIN + "\n", encoding="utf-8")
    assert read_admin_token(f, environ={}) == ADMIN
    assert read_admin_token(None, environ={"XCLZ_ADMIN_TOKEN": f" {ADMIN} "}) == ADMIN
    assert read_admin_token(None, environ={}) is None
    with pytest.raises(InputFileError, match="at least 16"):
        read_admin_token(None, environ={"XCLZ_ADMIN_TOKEN": "short"})


def test_serve_refuses_the_same_token_for_both_roles(tmp_path, capsys):
    from xclz_geo.cli.main import main

    tok = tmp_path / "t.txt"
    tok.write_text(USER, encoding="utf-8")
    code = main(["serve", "--token-file", str(tok), "--admin-token-file", str(tok), "--data-dir", str(tmp_path / "wb")])
    assert code == 2 and "must differ" in capsys.readouterr().err
