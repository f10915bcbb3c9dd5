import { Aggregation, ChatService } from "@chorus/proto";
import { detailsOf, TRACE_ID_KEY } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { Target } from "./connection.js";
import { chatJson, formatAnswer, formatStats, formatStatus, statsJson, statusJson } from "./format.js";

const deadline = (ms: number) => new Date(Date.now() + ms);

/** Prints a gRPC error the way a user can act on it and returns exit code 1. */
export function reportError(err: unknown, address: string): number {
  const code = (err as { code?: number }).code;
  const name = code === undefined ? "" : `${status[code] ?? code}: `;
  process.stderr.write(
    `chorus: ${name}${detailsOf(err)}${code === status.UNAVAILABLE ? ` (is Chorus running at ${address}?)` : ""}\n`,
  );
  return 1;
}

/** Options of `chorus ask`. */
export interface AskOptions {
  readonly json: boolean;
  readonly conversation: string | undefined;
  readonly agents: string | undefined;
  readonly aggregation: string | undefined;
  readonly turnId: string | undefined;
}

/** `chorus ask`: one turn, printed as text or JSON. */
export async function ask(target: Target, message: string, options: AskOptions): Promise<number> {
  const client = target.open(ChatService);
  try {
    const mode = options.aggregation
      ? Aggregation[options.aggregation.toUpperCase() as keyof typeof Aggregation]
      : 0;
    if (mode === undefined) {
      process.stderr.write(`chorus: --aggregation must be one of priority, fastest, all, quorum, judge\n`);
      return 2;
    }
    let traceId: string | undefined;
    const response = await client.chat(
      {
        message,
        conversationId: options.conversation ?? "",
        turnId: options.turnId ?? "",
        aggregation: mode,
        agents: options.agents ? options.agents.split(",").map((a) => a.trim()) : [],
      },
      {
        deadline: deadline(120_000),
        // Present when the orchestrator traced the turn (tracing on and sampled).
        onMetadata: (metadata) => (traceId = metadata.get(TRACE_ID_KEY)[0]?.toString()),
      },
    );
    process.stdout.write(`${options.json ? chatJson(response, traceId) : formatAnswer(response)}\n`);
    return 0;
  } catch (err) {
    return reportError(err, target.address);
  } finally {
    client.close();
  }
}

/** `chorus stats`. */
export async function stats(target: Target, json: boolean): Promise<number> {
  const client = target.open(ChatService);
  try {
    const response = await client.getStats({}, { deadline: deadline(10_000) });
    process.stdout.write(`${json ? statsJson(response) : formatStats(response)}\n`);
    return 0;
  } catch (err) {
    return reportError(err, target.address);
  } finally {
    client.close();
  }
}

/** `chorus status`. */
export async function statusCommand(target: Target, json: boolean): Promise<number> {
  const client = target.open(ChatService);
  try {
    const response = await client.getStatus({}, { deadline: deadline(10_000) });
    process.stdout.write(`${json ? statusJson(response) : formatStatus(response)}\n`);
    return 0;
  } catch (err) {
    return reportError(err, target.address);
  } finally {
    client.close();
  }
}
