import { ChatService } from "@chorus/proto";
import { status } from "@grpc/grpc-js";
import { reportError } from "./client-commands.js";
import type { Target } from "./connection.js";
import { formatScalingEvent, scalingEventJson } from "./format.js";

/** Options of `chorus scale-log`. */
export interface ScaleLogOptions {
  readonly pool: string | undefined;
  readonly json: boolean;
  /** Print the recent events and stop instead of following new ones. */
  readonly follow: boolean;
}

/** `chorus scale-log`: prints scaling events (recent ones, then live ones until Ctrl-C). */
export async function scaleLog(target: Target, options: ScaleLogOptions): Promise<number> {
  const client = target.open(ChatService);
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    const request = { pool: options.pool ?? "", replayOnly: !options.follow };
    // Following has no natural end, so only a one-shot replay gets a deadline.
    const deadline = options.follow ? undefined : new Date(Date.now() + 10_000);
    for await (const event of client.watchScaling(request, { signal: controller.signal, deadline })) {
      process.stdout.write(`${options.json ? scalingEventJson(event) : formatScalingEvent(event)}\n`);
    }
    return 0;
  } catch (err) {
    if (controller.signal.aborted || (err as { code?: number }).code === status.CANCELLED) return 0;
    return reportError(err, target.address);
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    client.close();
  }
}

/** `chorus scale POOL N`: sets a pool's block count by hand. */
export async function scalePool(target: Target, pool: string, blocks: string | undefined, json: boolean) {
  const count = Number(blocks);
  if (!pool || blocks === undefined || !Number.isInteger(count)) {
    process.stderr.write("usage: chorus scale POOL N (N a whole number of blocks)\n");
    return 2;
  }
  const client = target.open(ChatService);
  try {
    const { event } = await client.scalePool(
      { pool, blocks: count },
      { deadline: new Date(Date.now() + 10_000) },
    );
    if (event) process.stdout.write(`${json ? scalingEventJson(event) : formatScalingEvent(event)}\n`);
    return 0;
  } catch (err) {
    return reportError(err, target.address);
  } finally {
    client.close();
  }
}
