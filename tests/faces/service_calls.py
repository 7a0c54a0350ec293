"""Checks shared by the service tests."""

from __future__ import annotations


def expect_error(resp, status: int, code: str | None = None) -> str:
    """Assert ``resp`` is the service's JSON error with ``status`` (and ``code``); its detail."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) >= {"error", "detail"} and body["detail"]
    if code is not None:
        assert body["error"] == code
    return body["detail"]
