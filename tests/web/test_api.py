"""The JSON API over a real server: answers equal adamkit.lab, bad input is a 4xx with one line."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import numpy as np
import pytest
from tests.web.conftest import post

from adamkit.lab import run
from adamkit.rules.hyperparameters import HYPERPARAMETERS


def test_sliders_are_the_declarations(server):
    with urllib.request.urlopen(server + "api/meta") as r:
        meta = json.load(r)
    # every declared optimizer that can race a point (optimizers are being added: no fixed count)
    from adamkit import rules

    assert [o["name"] for o in meta["optimizers"]] == [n for n, v in rules.VARIANTS.items() if v.shape == "any"]
    lr = meta["hyperparameters"]["lr"]
    assert (lr["scale"], tuple(lr["search"])) == (HYPERPARAMETERS["lr"].scale, HYPERPARAMETERS["lr"].search)
    assert meta["hyperparameters"]["eps_mode"]["choices"] == list(HYPERPARAMETERS["eps_mode"].choices)
    by_name = {o["name"]: o for o in meta["optimizers"]}
    assert by_name["momentum"]["defaults"]["momentum"] == 0.9 and "momentum" not in by_name["sgd"]["sliders"]
    assert by_name["adam"]["color"] == "#0072B2"
    # a choice the rule narrows is offered as the rule allows it (RMSprop: paper or root)
    assert by_name["rmsprop"]["choices"]["eps_mode"] == ["paper", "root"]
    assert by_name["adam"]["choices"] == {}


def test_run_equals_the_lab(server):
    hp = {"lr": 0.03, "beta1": 0.8, "beta2": 0.99, "eps_mode": "hat"}
    status, out = post(server + "api/run", {"function": "himmelblau", "start": [-4, 4], "steps": 300,
                                            "optimizers": [{"name": "adam", "hyperparameters": hp},
                                                           {"name": "nesterov"}], "internals": 0})
    assert status == 200
    want = run("himmelblau", "adam", steps=300, start=(-4, 4), internals=True, **hp)
    np.testing.assert_array_equal(np.array(out["runs"][0]["path"]), want.path[0])
    np.testing.assert_array_equal(np.array(out["runs"][0]["internals"]["effective_lr"]),
                                  want.internals["effective_lr"][0])
    assert out["command"].startswith("adamkit race --function himmelblau --start=-4,4 --steps 300")


def test_divergence_is_reported(server):
    status, out = post(server + "api/run", {"steps": 200, "optimizers": [{"name": "sgd", "hyperparameters": {"lr": 0.5}}]})
    r = out["runs"][0]
    assert status == 200 and r["diverged_step"] is not None and len(r["path"]) == r["diverged_step"] + 1


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"optimizers": [{"name": "adam", "hyperparameters": {"beta1": 1}}]}, 400, "Invalid beta parameter at index 0: 1.0; valid range of betas[0]: [0, 1)"),
    ({"optimizers": [{"name": "adam", "hyperparameters": {"lr": -1}}]}, 400, "Invalid learning rate: -1.0; valid range of lr: [0, inf)"),
    ({"optimizers": [{"name": "adamm"}]}, 400, "unknown optimizer 'adamm'; valid: "),
    ({"optimizers": [{"name": "adam", "hyperparameters": {"lr": "0.1"}}]}, 400, "lr must be a number"),
    ({"optimizers": [{"name": "adam", "hyperparameters": {"momentum": 0.9}}]}, 400, "adam has no hyperparameter 'momentum'"),
    ({"function": "x**2 + sin(y", "optimizers": [{"name": "adam"}]}, 400, "at column 11"),
    ({"function": "__import__('os')", "optimizers": [{"name": "adam"}]}, 400, "bad expression"),
    ({"function": "x" * 301, "optimizers": [{"name": "adam"}]}, 413, "over the limit of 300"),
    ({"steps": 10**6, "optimizers": [{"name": "adam"}]}, 413, "steps 1000000 is over the limit"),
    ({"steps": 10**400, "optimizers": [{"name": "adam"}]}, 413, "over the limit"),
    ({"steps": -3, "optimizers": [{"name": "adam"}]}, 400, "invalid steps -3; valid range [0, 10000]"),
    ({"start": [1e308, 0], "optimizers": [{"name": "adam"}]}, 400, "invalid start[0]"),
    ({"optimizers": [{"name": "adam"}] * 13}, 413, "13 optimizers is over the limit of 12"),
])
def test_bad_input_is_a_4xx_with_one_line(server, body, status, words):
    got, out = post(server + "api/run", body)
    assert got == status and words in out["error"] and "\n" not in out["error"]


def test_sweep_limits_and_answer(server):
    axes = {"x": {"name": "lr", "n": 128}, "y": {"name": "beta1", "n": 128}}
    got, out = post(server + "api/sweep", {"steps": 5000, "optimizer": {"name": "adam"}, **axes})
    assert got == 413 and "configuration-steps" in out["error"]
    got, out = post(server + "api/sweep", {"steps": 100, "optimizer": {"name": "adam"},
                                           "x": {"name": "lr", "n": 4}, "y": {"name": "beta2", "n": 3}})
    assert got == 200 and len(out["final_loss"]) == 3 and len(out["final_loss"][0]) == 4
    want = run("rosenbrock", "adam", steps=100, lr=np.array(out["x"]["values"])[[1]],
               beta2=np.array(out["y"]["values"])[[2]])
    assert out["final_loss"][2][1] == pytest.approx(float(want.final_loss()[0]), rel=1e-9)


def test_fuzz_always_a_4xx_and_the_server_keeps_serving(server):
    rng = np.random.default_rng(0)
    raws = [b"{", b"[]", b"null", b'{"steps": NaN, "optimizers": [{"name": "adam"}]}',
            b'{"steps": Infinity}', "{\"function\": \"\u00e9\u6f22\u5b57 + x\"}".encode(),
            b"\xff\xfe", b'{"optimizers": "adam"}', b'{"optimizers": [1, 2]}',
            b'{"optimizers": [{"name": {"a": 1}}]}', b'{"start": "here", "optimizers": [{"name": "adam"}]}',
            b'{"optimizers": [{"name": "adam", "hyperparameters": {"lr": 1e999}}]}',
            b'{"optimizers": [{"name": "adam", "hyperparameters": {"eps_mode": 3}}]}',
            b'{"n": 10000000000}', b'{"x": [], "y": 3}', b"x" * 70000]
    raws += [bytes(rng.integers(0, 256, 40).astype(np.uint8)) for _ in range(10)]
    for path in ("api/run", "api/sweep", "api/surface", "api/tune", "api/export", "api/function"):
        for raw in raws:
            status, out = post(server + path, None, raw=raw)
            assert 400 <= status < 500, (path, raw[:40], status, out)
            assert isinstance(out, dict) and out["error"], (path, raw[:40])
    status, _ = post(server + "api/run", {"optimizers": [{"name": "adam"}]})
    assert status == 200


def test_concurrent_clients_all_correct_and_a_slow_request_blocks_no_one(server):
    """A short version of benchmarks/web_load.py (20 clients; there for 30 s, here for 3 s)."""
    body = {"steps": 300, "optimizers": [{"name": "adam"}, {"name": "sgd"}]}
    want = run("rosenbrock", "adam", steps=300).path[0, -1].tolist()
    latencies, failures = [], []

    def client(deadline):
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            status, out = post(server + "api/run", body)
            latencies.append(time.perf_counter() - t0)
            if status != 200 or out["runs"][0]["path"][-1] != want:
                failures.append(status)

    slow = threading.Thread(target=post, args=(server + "api/tune", {"steps": 2000, "budget": 256,
                            "optimizers": [{"name": "adam"}, {"name": "rmsprop"}]}))
    slow.start()
    deadline = time.perf_counter() + 3
    threads = [threading.Thread(target=client, args=(deadline,)) for _ in range(20)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    with urllib.request.urlopen(server + "api/meta", timeout=10) as r:  # answered while busy
        assert r.status == 200
    meta_seconds = time.perf_counter() - t0
    for t in threads:
        t.join()
    slow.join()
    assert not failures and len(latencies) >= 20
    assert meta_seconds < 2.0, meta_seconds


def test_export_formats(server):
    body = {"steps": 60, "optimizers": [{"name": "adam"}, {"name": "sgd"}]}
    for fmt, magic in (("png", b"\x89PNG"), ("gif", b"GIF8"), ("mp4", b"ftyp")):
        status, data = post(server + "api/export", {**body, "format": fmt})
        assert status == 200 and magic in data[:12], fmt


def _nodelay_of_accepted(sock) -> int:
    """TCP_NODELAY of the connection an asyncio server (as uvicorn runs) accepts on ``sock``."""
    import asyncio
    import socket

    async def main() -> int:
        accepted: asyncio.Future = asyncio.get_running_loop().create_future()

        class Protocol(asyncio.Protocol):
            def connection_made(self, transport):
                conn = transport.get_extra_info("socket")
                accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Protocol, sock=sock)
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        value = await asyncio.wait_for(accepted, 10)
        writer.close()
        server.close()
        return value

    return asyncio.run(main())


def test_served_connections_send_at_once():
    """Without TCP_NODELAY a kept-alive connection stalled 40 ms before most response bodies."""
    import socket

    from adamkit.web.cli import listening_socket

    assert _nodelay_of_accepted(listening_socket("127.0.0.1", 0)) != 0
    plain = socket.socket()  # the default proto=0: asyncio leaves Nagle on (the bug)
    plain.bind(("127.0.0.1", 0))
    plain.listen()
    assert _nodelay_of_accepted(plain) == 0
