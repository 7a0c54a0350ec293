"""Who may reach the service and how long they wait: the bearer token, the rules for the
address it binds, and the first-come-first-served line for its request slots."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from service_calls import expect_error
from typer.testing import CliRunner

from synthgen.errors import UsageError
from synthgen.service import create_app
from synthgen.service.server import check_bind, is_loopback

TOKEN = "t0ken-for-tests-0123456789"


# --- the request line ----------------------------------------------------------------------------
def test_slot_limiter_is_first_come_first_served_with_a_bounded_line():
    import asyncio

    from synthgen.service.limits import SlotLimiter

    async def scenario():
        lim = SlotLimiter(1, max_waiting=2)
        assert await lim.acquire(0)
        order = []

        async def wait(tag, timeout):
            ok = await lim.acquire(timeout)
            order.append((tag, ok))
            if ok:
                await asyncio.sleep(0.01)
                lim.release()

        first = asyncio.create_task(wait("first", 5))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(wait("second", 5))
        await asyncio.sleep(0.01)
        assert lim.waiting == 2 and not await lim.acquire(5)  # the line is full: no wait
        assert not lim.try_acquire()  # nobody jumps the line
        lim.release()
        await asyncio.gather(first, second)
        assert order == [("first", True), ("second", True)]
        assert lim.in_use == 0 and lim.waiting == 0
        assert await lim.acquire(0)
        assert not await lim.acquire(0.05)  # timed out, and left the line
        assert lim.waiting == 0

    asyncio.run(scenario())


# --- auth ----------------------------------------------------------------------------------------
def test_bearer_token(models_dir):
    with TestClient(create_app(models_dir, token=TOKEN)) as c:
        assert c.get("/health").status_code == 200
        assert c.get("/openapi.json").status_code == 200
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": TOKEN},
            {"Authorization": f"Basic {TOKEN}"},
        ):
            resp = c.get("/models", headers=headers)
            assert expect_error(resp, 401, "unauthorized")
            assert resp.headers["www-authenticate"] == "Bearer"
            assert (
                c.post("/models/census/generate", json={"rows": 3}, headers=headers).status_code
                == 401
            )
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert c.get("/models", headers=good).status_code == 200
        assert c.post("/models/census/generate", json={"rows": 3}, headers=good).status_code == 200


def test_bind_rules():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    check_bind("127.0.0.1", 0, None)
    check_bind("0.0.0.0", 0, TOKEN)
    with pytest.raises(UsageError, match="without a bearer token"):
        check_bind("0.0.0.0", 0, None)
    with pytest.raises(UsageError, match="at least 16"):
        check_bind("127.0.0.1", 0, "short")


def test_cli_refuses_unsafe_binds(models_dir, monkeypatch):
    from synthgen.cli.main import app as cli

    runner = CliRunner()
    res = runner.invoke(cli, ["serve", str(models_dir), "--host", "0.0.0.0"])
    assert res.exit_code == 2 and "without a bearer" in res.output
    monkeypatch.delenv("SG_TEST_TOKEN", raising=False)
    res = runner.invoke(cli, ["serve", str(models_dir), "--token-env", "SG_TEST_TOKEN"])
    assert res.exit_code == 2 and "SG_TEST_TOKEN" in res.output
    res = runner.invoke(cli, ["serve", str(models_dir / "nope")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(cli, ["serve", str(models_dir), "--max-concurrent", "0"])
    assert res.exit_code == 2 and "max_concurrent" in res.output
