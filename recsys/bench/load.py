"""The serving load test: ``recsys serve`` started on loopback, then a bounded number of requests
per endpoint from this (a second) process, ``concurrency`` at a time.

Measured: start-up (process start to the first ``/health`` answer), the server's resident
memory after the load (``VmRSS``) and its peak (``VmHWM``), and per endpoint the p50 / p99
latency of the answered requests (2xx), requests per second over the endpoint's whole batch,
and the count of each status. A share of the requests is bad on purpose (``n=0``, an unknown
model, an empty session): they must come back as 4xx, and any 5xx is reported as a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np

from recsys.columns import Tables
from recsys.protocol import TEST_FOLD
from recsys.warehouse import connect, table_exists

STARTUP_TIMEOUT_S = 2400.0  # a first start at 50m fits every generator of both targets
SAMPLE = 2000  # users, items and sessions drawn to build the requests from


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def latency_stats(seconds: list[float], wall_s: float, statuses: Counter) -> dict:
    """p50 / p99 (ms) of the answered requests, requests per second, status counts.

    >>> s = latency_stats([0.001, 0.002, 0.003, 0.010], 0.5, Counter({200: 4, 422: 1}))
    >>> s["p50_ms"], s["requests"], s["rps"], s["server_errors"]
    (2.5, 5, 10.0, 0)
    """
    ms = np.asarray(seconds) * 1000.0
    total = sum(statuses.values())
    return {"requests": total,
            "p50_ms": float(np.percentile(ms, 50)) if len(ms) else None,
            "p99_ms": float(np.percentile(ms, 99)) if len(ms) else None,
            "rps": total / wall_s if wall_s > 0 else None,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "server_errors": sum(v for k, v in statuses.items() if k >= 500)}


def _sample(warehouse: Path) -> dict[str, list]:
    """Users with lists, items with history and sessions of the test fold to ask about."""
    con = connect(warehouse, read_only=True)
    try:
        users = [r[0] for r in con.execute(
            f"select distinct uid from {Tables.train_interactions} where fold = ? and "
            "target = 'listen_plus' order by hash(uid) limit ?", [TEST_FOLD, SAMPLE]).fetchall()]
        items = [r[0] for r in con.execute(
            f"select distinct item_id from {Tables.train_interactions} where fold = ? and "
            "target = 'listen_plus' order by hash(item_id) limit ?", [TEST_FOLD, SAMPLE]).fetchall()]
        sessions = [list(r[0]) for r in con.execute(
            f"select query_items from {Tables.next_song_queries} where fold = ? "
            "order by hash(uid, session) limit ?", [TEST_FOLD, SAMPLE]).fetchall()] \
            if table_exists(con, Tables.next_song_queries) else [[int(i)] for i in items]
    finally:
        con.close()
    return {"users": users, "items": items, "sessions": sessions}


VECTOR_MODELS = ("ials", "bpr", "audio")  # the first served one gets its own /similar batch


def _requests(sample: dict[str, list], count: int, bad_share: float, seed: int,
              served: list[str]) -> dict[str, list[Callable[[httpx.Client], httpx.Response]]]:
    """Per endpoint, ``count`` request closures, ``bad_share`` of them bad on purpose:
    recommendations of the default model, similar items by ItemKNN and by the first served
    model of :data:`VECTOR_MODELS` (``similar_<model>``: the ANN index where one is built),
    next songs."""
    rng = np.random.default_rng(seed)
    similar = [("similar", "itemknn"), *[(f"similar_{m}", m) for m in VECTOR_MODELS
                                         if m in served][:1]]
    out: dict[str, list] = {"recommendations": [], **{e: [] for e, _ in similar}, "next": []}
    for i in range(count):
        bad = rng.random() < bad_share
        u = int(sample["users"][i % len(sample["users"])])
        item = int(sample["items"][i % len(sample["items"])])
        session = sample["sessions"][i % len(sample["sessions"])]
        out["recommendations"].append(
            lambda c, u=u, bad=bad: c.get(f"/users/{u}/recommendations",
                                          params={"n": 0 if bad else 10}))
        for endpoint, model in similar:
            out[endpoint].append(
                lambda c, item=item, bad=bad, model=model: c.get(
                    f"/items/{item}/similar", params={"n": 10, "model": "nope" if bad else model}))
        out["next"].append(
            lambda c, s=session, bad=bad: c.post("/next", json={"items": [] if bad else s, "n": 10}))
    return out


def _memory_mb(pid: int) -> dict[str, float | None]:
    status = Path(f"/proc/{pid}/status")
    found = {"VmRSS": None, "VmHWM": None}
    if status.is_file():
        for line in status.read_text().splitlines():
            key = line.split(":")[0]
            if key in found:
                found[key] = int(line.split()[1]) / 1024.0
    return {"rss_mb": found["VmRSS"], "peak_rss_mb": found["VmHWM"]}


def load_test(server: list[str], warehouse: Path, *, env: dict[str, str] | None = None,
              requests: int = 5000, concurrency: int = 8, bad_share: float = 0.05,
              seed: int = 42, log: Path | None = None) -> dict:
    """Start ``server`` (a ``recsys serve`` command line without ``--port``), load it, stop it;
    then start it once more and time that start (``warm_startup_s``: from the snapshot the
    first start wrote, :mod:`recsys.serving.snapshot`)."""
    sample = _sample(warehouse)
    port = free_port()
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    try:
        with _started(server, port, env, out) as (process, client, startup):
            endpoints = {}
            served = list(client.get("/models").json()["targets"].get("listen_plus", {}))
            for name, calls in _requests(sample, requests, bad_share, seed, served).items():
                calls[0](client)  # one warm-up request
                endpoints[name] = _run(client, calls, concurrency)
            memory = _memory_mb(process.pid)
        with _started(server, port, env, out) as (process, _, warm):
            warm_memory = _memory_mb(process.pid)["rss_mb"]
    finally:
        if log:
            out.close()
    return {"status": "ok", "port": port, "startup_s": startup, "warm_startup_s": warm,
            "warm_rss_mb": warm_memory, **memory, "requests_per_endpoint": requests,
            "concurrency": concurrency, "bad_share": bad_share, "endpoints": endpoints,
            "agree": all(e["server_errors"] == 0 for e in endpoints.values())}


@contextmanager
def _started(server: list[str], port: int, env, out):
    """The server process started on ``port``, a client, and its start-up seconds (process
    start to the first ``/health`` answer); terminated (killed if it hangs) on the way out."""
    start = time.perf_counter()
    process = subprocess.Popen([*server, "--port", str(port)], env=env or dict(os.environ),
                               stdout=out, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60.0) as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the server exited with code {process.returncode} "
                                       "before answering /health (its log has the reason)")
                if time.perf_counter() - start > STARTUP_TIMEOUT_S:
                    raise RuntimeError(f"the server did not answer /health in {STARTUP_TIMEOUT_S} s")
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.5)
            yield process, client, time.perf_counter() - start
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _run(client: httpx.Client, calls: list, concurrency: int) -> dict:
    def one(call) -> tuple[int, float]:
        t = time.perf_counter()
        status = call(client).status_code
        return status, time.perf_counter() - t

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        done = list(pool.map(one, calls))
    wall = time.perf_counter() - start
    statuses = Counter(status for status, _ in done)
    return latency_stats([s for status, s in done if status < 300], wall, statuses)


def compute_timings(settings, config, warehouse: Path, *, queries: int = 300) -> dict:
    """Per endpoint, the median and p99 milliseconds of the service call alone (no HTTP, one
    thread) over ``queries`` requests like the load test's, on the service the server loaded
    (its snapshot, :func:`recsys.serving.snapshot.open_service`): what a request costs before
    the HTTP stack and the other requests sharing the cores."""
    from recsys.pipeline_config import as_config
    from recsys.serving.snapshot import open_service

    config = as_config(config)
    service, _ = open_service(settings, config)
    sample = _sample(warehouse)
    served = service.served("listen_plus")
    default = config.two_stage_name if config.two_stage_name in served else "history"
    vector = next((m for m in VECTOR_MODELS if m in served), None)
    calls = {  # endpoint (as the load test names it) -> (model, calls)
        "recommendations": (default, [lambda u=u: service.recommend(int(u), model=default, n=10)
                                      for u in sample["users"][:queries]]),
        "similar": ("itemknn", [lambda i=i: service.similar(int(i), model="itemknn", n=10)
                                for i in sample["items"][:queries]]),
        **({f"similar_{vector}": (vector, [lambda i=i: service.similar(int(i), model=vector, n=10)
                                           for i in sample["items"][:queries]])}
           if vector else {}),
        "next": ("next_song", [lambda s=s: service.next(s, n=10)
                               for s in sample["sessions"][:queries]]),
    }
    out = {}
    for endpoint, (model, batch) in calls.items():
        seconds = []
        for call in batch:
            start = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - start)
        ms = 1e3 * np.asarray(seconds)
        out[endpoint] = {"model": model, "calls": len(ms), "p50_ms": float(np.percentile(ms, 50)),
                         "p99_ms": float(np.percentile(ms, 99))}
    return out


def ann_check(settings, config, *, queries: int = 300, target: str = "listen_plus") -> dict:
    """Per model with item vectors (ials, bpr, audio among ``candidates.models``): the ANN
    indexes ``recsys serve`` builds, their build time, and their recall@10 and median time per
    query against exact search: similar items over ``queries`` random items
    (:func:`recsys.serving.ann.compare`), user recommendations (``--user-retrieval ann``)
    over ``queries`` random users against the generator's own (exact) list."""
    from recsys.pipeline_config import as_config
    from recsys.serving.ann import compare
    from recsys.serving.service import Service

    config = as_config(config)
    models = [m for m in ("ials", "bpr", "audio") if m in config.candidates.models]
    service = Service.load(settings, config, models=models, targets=[target], two_stage=False,
                           ann=True, ann_users=True)
    out = {}
    for model, index in service.indexes[target].items():
        c = compare(index, queries=queries, seed=config.seed)
        out[model] = {"items": len(index), "build_s": index.build_s, "queries": c.queries,
                      "recall_at_10": c.recall, "exact_ms": c.exact_ms, "ann_ms": c.ann_ms,
                      "speedup": c.speedup}
        if model in service.user_indexes[target]:
            out[model]["users"] = _user_retrieval(service, model, target, queries, config.seed)
    return out


def _user_retrieval(service, model: str, target: str, queries: int, seed: int) -> dict:
    """Recall@10 and median ms of the served (ANN) user lists against the generator's exact
    ones, for users drawn at random (users without an exact list left out of the recall)."""
    from recsys.serving.ann import measure

    generator, index = service.models[target][model], service.user_indexes[target][model]
    uids = generator.data.users.to_external(np.random.default_rng(seed).choice(
        len(generator.data.users), min(queries, len(generator.data.users)), replace=False))
    c = measure((lambda u=u: generator.recommend_frame([u], 10)["item_id"].tolist(),
                 lambda u=u: [i for i, _ in service.recommend(u, model=model, target=target,
                                                              n=10).items])
                for u in uids.tolist())
    return {"items": len(index), "queries": c.queries, "recall_at_10": c.recall,
            "exact_ms": c.exact_ms, "ann_ms": c.ann_ms, "speedup": c.speedup}
