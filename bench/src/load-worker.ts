// One load-generating process: receives a target and a load spec over IPC, connects, says it is
// ready, runs the load from the start time the parent sends, and sends the result back.
import { setTimeout as sleep } from "node:timers/promises";
import { type LoadSpec, runLoad } from "./load.js";
import { openTarget, type TargetSpec } from "./targets.js";

interface Job {
  readonly spec: LoadSpec;
  readonly target: TargetSpec;
}

process.once("message", async (job: Job) => {
  const target = await openTarget(job.target);
  process.once("message", async ({ startAt }: { startAt: number }) => {
    await sleep(Math.max(0, startAt - Date.now()));
    const result = await runLoad(job.spec, target.call);
    await target.close();
    process.send?.({ result }, () => process.exit(0));
  });
  process.send?.({ ready: true });
});
// Never outlive the bench: a worker whose parent died exits instead of loading a mesh forever.
process.once("disconnect", () => process.exit(0));
