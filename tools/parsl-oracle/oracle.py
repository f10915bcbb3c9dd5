"""Evaluate real Parsl scaling decisions for pool states read as JSON on stdin.

Input:  {"scenarios": [{"settings": {...}, "memory": {"first": bool, "idle_since": float|null},
          "next_block_id": int, "polls": [{"now": float, "tasks": int, "bad_state": bool,
          "blocks": [{"id": str, "state": "PENDING", "registered": bool,
                      "tasks_in_flight": int, "idle_seconds": float}]}]}]}
Output: {"results": [[[action, ...] per poll] per scenario]} where an action is
        {"kind": "scale_out", "blocks": n} or
        {"kind": "scale_in", "blocks": n, "max_idletime": float|null, "victims": [ids]}.

Parsl's own Strategy, HighThroughputExecutor.scale_in and the BlockProviderExecutor
facades run unmodified; only the edges that would touch the outside world (launching a
block, the interchange's manager list and hold command, provider.cancel, the clock)
are replaced.
"""

import json
import logging
import sys
from unittest import mock

from parsl.executors import HighThroughputExecutor
from parsl.jobs.states import JobState, JobStatus
from parsl.jobs.strategy import Strategy
from parsl.providers import LocalProvider


def make_executor(settings, next_block_id):
    provider = LocalProvider(
        nodes_per_block=1,
        init_blocks=settings["init_blocks"],
        min_blocks=settings["min_blocks"],
        max_blocks=settings["max_blocks"],
        parallelism=settings["parallelism"],
    )
    # Cancelling would signal real processes; report every cancel as successful.
    provider.cancel = lambda job_ids: [True] * len(job_ids)
    executor = HighThroughputExecutor(label="pool", provider=provider, address="127.0.0.1")
    executor._workers_per_node = settings["workers_per_block"]
    executor._block_id_counter.count = next_block_id
    # Launching would start a worker pool; hand back a job id instead.
    executor._launch_block = lambda block_id: f"job-{block_id}"
    executor._hold_block = lambda block_id: None
    executor.connected_managers = lambda: executor.oracle_managers
    executor.oracle_managers = []
    executor.oracle_actions = []
    record_actions(executor)
    return executor


def load_poll(executor, poll):
    executor._tasks = {i: None for i in range(poll["tasks"])}
    if poll.get("bad_state"):
        executor._executor_bad_state.set()
    else:
        executor._executor_bad_state.clear()
    executor._status = {}
    executor._simulated_status = {}
    executor.blocks_to_job_id = {}
    executor.job_ids_to_block = {}
    managers = []
    for block in poll["blocks"]:
        block_id = block["id"]
        executor._status[block_id] = JobStatus(JobState[block["state"]])
        executor.blocks_to_job_id[block_id] = f"job-{block_id}"
        executor.job_ids_to_block[f"job-{block_id}"] = block_id
        if block["registered"]:
            managers.append({
                "manager": f"manager-{block_id}",
                "block_id": block_id,
                "tasks": block["tasks_in_flight"],
                "idle_duration": block["idle_seconds"],
                "active": True,
            })
    executor.oracle_managers = managers


def record_actions(executor):
    """Wrap the scaling facades so each call is appended to executor.oracle_actions."""
    real_out = executor.scale_out_facade
    real_in = executor.scale_in_facade

    def scale_out(n):
        executor.oracle_actions.append({"kind": "scale_out", "blocks": n})
        return real_out(n)

    def scale_in(n, max_idletime=None):
        victims = real_in(n, max_idletime=max_idletime)
        executor.oracle_actions.append(
            {"kind": "scale_in", "blocks": n, "max_idletime": max_idletime, "victims": victims})
        return victims

    executor.scale_out_facade = scale_out
    executor.scale_in_facade = scale_in


def run_scenario(scenario):
    settings = scenario["settings"]
    strategy = Strategy(strategy=settings["strategy"], max_idletime=settings["max_idletime"])
    executor = make_executor(settings, scenario["next_block_id"])
    strategy.add_executors([executor])
    memory = scenario["memory"]
    strategy.executors[executor.label] = {"idle_since": memory["idle_since"], "first": memory["first"]}
    results = []
    for poll in scenario["polls"]:
        load_poll(executor, poll)
        executor.oracle_actions = []
        with mock.patch("parsl.jobs.strategy.time.time", return_value=poll["now"]):
            strategy.strategize([executor])
        results.append(executor.oracle_actions)
    return results


def main():
    logging.disable(logging.CRITICAL)
    request = json.load(sys.stdin)
    results = [run_scenario(scenario) for scenario in request["scenarios"]]
    json.dump({"parsl_version": __import__("parsl").__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
