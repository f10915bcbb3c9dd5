"""The seed workflow on real Parsl, for the Chorus benchmark (bench/src/parsl.ts runs it).

Per turn: three agent tasks (HighThroughputExecutor + LocalProvider) that POST one non-streaming
chat completion each to the same `chorus llm-sim` the Chorus run uses, with each persona's system
prompt; then the seed's aggregation, `priority` (the first successful answer in agent order).

Input: a JSON job file (argv[1]):
  {"mode": "levels" | "step", "sim_url": "http://127.0.0.1:PORT/v1", "agents": [{name, model,
   temperature, max_tokens, system_prompt}], "run_dir": "...",
   levels: {"levels": [C, ...], "warmup_s": s, "duration_s": s, "workers": W, "max_turns": n,
            "prewarm_turns": n, "prewarm_s": s, "prewarm_concurrency": C}
   step:   {"concurrency": N, "idle_s": s, "duration_s": s, "workers_per_block": w,
            "max_blocks": b, "strategy_period": s, "max_turns": n}}
Output: one JSON object per line on stdout: {"event": "ready"|"level_start"|"level_end"|"result", ...}.
Every loop is bounded by the job's durations and max_turns.
"""

import json
import sys
import threading
import time

import parsl
from parsl.app.app import python_app
from parsl.config import Config
from parsl.executors import HighThroughputExecutor
from parsl.providers import LocalProvider


def emit(**event):
    print(json.dumps(event), flush=True)


@python_app(executors=["htex"])
def agent_task(url, agent, message):
    """One agent's answer: a chat completion from the simulator over HTTP (urllib)."""
    import json as _json
    import time as _time
    import urllib.request

    started = _time.perf_counter()
    body = _json.dumps(
        {
            "model": agent["model"],
            "temperature": agent["temperature"],
            "max_tokens": agent["max_tokens"],
            "messages": [
                {"role": "system", "content": agent["system_prompt"]},
                {"role": "user", "content": message},
            ],
        }
    ).encode()
    request = urllib.request.Request(
        url + "/chat/completions",
        data=body,
        headers={"content-type": "application/json", "authorization": "Bearer parsl-bench"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        data = _json.loads(response.read())
    return {"text": data["choices"][0]["message"]["content"], "ms": (_time.perf_counter() - started) * 1000}


def run_turn(job, tag, index):
    """Submits the three agent tasks and aggregates by priority; returns (ok, slowest task ms)."""
    message = f"{tag} {index}: What can you tell me about parallel processing?"
    futures = [agent_task(job["sim_url"], agent, message) for agent in job["agents"]]
    answer, slowest, failures = None, 0.0, 0
    for future in futures:
        try:
            result = future.result(timeout=180)
            slowest = max(slowest, result["ms"])
            if answer is None:
                answer = result["text"]
        except Exception:  # noqa: BLE001 - a failed agent is counted, as the seed does
            failures += 1
    return answer is not None and failures == 0, slowest


def closed_loop(job, concurrency, warmup_s, duration_s, max_turns, tag):
    """Runs `concurrency` callers until the window ends; returns samples and window counts."""
    samples = []
    lock = threading.Lock()
    counters = {"issued": 0, "completed_in_window": 0, "failed": 0}
    t0 = time.perf_counter()
    window_start = t0 + warmup_s
    window_end = window_start + duration_s

    def caller():
        while True:
            with lock:
                if time.perf_counter() >= window_end or counters["issued"] >= max_turns:
                    return
                index = counters["issued"]
                counters["issued"] += 1
            started = time.perf_counter()
            try:
                ok, slowest = run_turn(job, tag, index)
            except Exception:  # noqa: BLE001
                ok, slowest = False, float("nan")
            finished = time.perf_counter()
            with lock:
                if ok and window_start <= finished <= window_end:
                    counters["completed_in_window"] += 1
                if started >= window_start:
                    if not ok:
                        counters["failed"] += 1
                    samples.append(
                        [(started - window_start) * 1000, (finished - started) * 1000, ok, slowest]
                    )

    threads = [threading.Thread(target=caller, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=warmup_s + duration_s + 300)
    return {
        "samples": samples,
        "completed_in_window": counters["completed_in_window"],
        "window_ms": duration_s * 1000,
        "failed": counters["failed"],
    }


def wait_for_workers(executor, wanted, timeout_s):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        workers = sum(m.get("worker_count", 0) for m in executor.connected_managers())
        if workers >= wanted:
            return workers
        time.sleep(0.2)
    return sum(m.get("worker_count", 0) for m in executor.connected_managers())


def make_config(job, workers, init_blocks, min_blocks, max_blocks, strategy, period):
    executor = HighThroughputExecutor(
        label="htex",
        address="127.0.0.1",
        max_workers_per_node=workers,
        # The tasks wait on HTTP, not the CPU: without this HTEX caps workers at the core count.
        cores_per_worker=0.01,
        provider=LocalProvider(init_blocks=init_blocks, min_blocks=min_blocks, max_blocks=max_blocks),
    )
    return Config(
        executors=[executor],
        strategy=strategy,
        strategy_period=period,
        max_idletime=120,
        run_dir=job["run_dir"],
        usage_tracking=0,
    )


def run_levels(job):
    spec = job["levels"]
    started = time.time()
    dfk = parsl.load(make_config(job, spec["workers"], 1, 1, 1, "none", 5.0))
    try:
        executor = dfk.executors["htex"]
        workers = wait_for_workers(executor, spec["workers"], 120)
        # Every worker's first task pays for its imports; do that before anything is measured, with
        # the same unrecorded warm-up (turns, time bound, concurrency) the Chorus mesh gets.
        closed_loop(
            job, spec["prewarm_concurrency"], 0, spec["prewarm_s"], spec["prewarm_turns"], "parsl-warmup"
        )
        emit(event="ready", startup_s=time.time() - started, workers=workers)
        for concurrency in spec["levels"]:
            emit(event="level_start", concurrency=concurrency)
            result = closed_loop(
                job, concurrency, spec["warmup_s"], spec["duration_s"], spec["max_turns"], f"parsl-c{concurrency}"
            )
            emit(event="level_end", concurrency=concurrency)
            emit(event="result", concurrency=concurrency, **result)
    finally:
        dfk.cleanup()


def run_step(job):
    spec = job["step"]
    dfk = parsl.load(
        make_config(job, spec["workers_per_block"], 1, 1, spec["max_blocks"], "simple", spec["strategy_period"])
    )
    timeline = []
    stop = threading.Event()
    try:
        executor = dfk.executors["htex"]
        wait_for_workers(executor, spec["workers_per_block"], 120)
        emit(event="ready")
        t0 = time.perf_counter() + spec["idle_s"]

        def sample():
            while not stop.is_set():
                timeline.append(
                    [
                        (time.perf_counter() - t0) * 1000,
                        len(executor.blocks_to_job_id),
                        len(executor.connected_blocks()),
                        executor.outstanding(),
                    ]
                )
                stop.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        time.sleep(spec["idle_s"])
        result = closed_loop(job, spec["concurrency"], 0, spec["duration_s"], spec["max_turns"], "parsl-step")
        stop.set()
        sampler.join(timeout=5)
        emit(event="result", timeline=timeline, **result)
    finally:
        stop.set()
        dfk.cleanup()


def main():
    with open(sys.argv[1]) as handle:
        job = json.load(handle)
    if job["mode"] == "levels":
        run_levels(job)
    else:
        run_step(job)


if __name__ == "__main__":
    main()
