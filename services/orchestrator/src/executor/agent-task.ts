import { setTimeout as delay } from "node:timers/promises";
import { codeOf, detailsOf, RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { Block } from "./block.js";
import { modelFailureOf } from "./model-health.js";
import type { Pool } from "./pool.js";

/** One earlier message sent to an agent as context. */
export interface ContextMessage {
  readonly role: "user" | "assistant";
  readonly content: string;
}

/** What one agent task needs to run. */
export interface AgentTaskRequest {
  readonly turnId: string;
  readonly message: string;
  readonly context: readonly ContextMessage[];
  readonly deadline: Date;
  readonly signal: AbortSignal;
  readonly requestId: string;
  /** Whose task this is, for fair queuing (a principal, or a peer on a keyless run); absent: shared. */
  readonly client?: string | undefined;
  /** Attempts allowed for failures of the task itself; replicas that vanish do not use them up. */
  readonly maxAttempts: number;
  /** Called with text as it is generated; when set the task streams. */
  readonly onDelta?: ((text: string) => void) | undefined;
}

/** The result of one agent task. */
export interface AgentTaskResult {
  readonly ok: boolean;
  readonly text: string;
  readonly error: string;
  readonly code: status;
  readonly attempts: number;
  readonly replica: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** Codes after which another replica may well succeed. */
const RETRYABLE = new Set([
  status.UNAVAILABLE,
  status.RESOURCE_EXHAUSTED,
  status.CANCELLED,
  status.INTERNAL,
  status.UNKNOWN,
]);

/** How long to wait for a provider to report a replica whose connection just dropped. */
const LOST_REPLICA_GRACE_MS = 150;

/** Replica losses tolerated on top of maxAttempts, so a crash loop still ends. */
const MAX_LOST_REPLICAS = 5;

async function callBlock(block: Block, request: AgentTaskRequest) {
  const client = block.client;
  if (!client) throw new RpcError(status.UNAVAILABLE, `replica ${block.id} has no connection`);
  const body = {
    turnId: request.turnId,
    message: request.message,
    context: request.context.map((m) => ({ role: m.role, content: m.content })),
  };
  const options = { deadline: request.deadline, signal: request.signal, requestId: request.requestId };
  if (!request.onDelta) return client.generate(body, options);
  for await (const event of client.generateStream(body, options)) {
    if (event.event.case === "delta") request.onDelta(event.event.value);
    else if (event.event.case === "done") return event.event.value;
  }
  throw new RpcError(status.UNAVAILABLE, `replica ${block.id} ended its stream without an answer`);
}

/** Runs one agent task on the pool: least-loaded replica, retried elsewhere on replica failure. */
export async function runAgentTask(pool: Pool, request: AgentTaskRequest): Promise<AgentTaskResult> {
  const tried = new Set<string>();
  let attempts = 0;
  let ownFailures = 0;
  let lost = 0;
  let lastError: unknown;
  let replica = "";
  while (ownFailures < request.maxAttempts && lost <= MAX_LOST_REPLICAS) {
    if (request.signal.aborted || Date.now() >= request.deadline.getTime()) break;
    let block: Block;
    try {
      block = await pool.acquire(request.signal, tried, request.client);
    } catch (err) {
      lastError = err;
      break;
    }
    attempts += 1;
    tried.add(block.id);
    replica = block.address;
    try {
      const response = await callBlock(block, request);
      pool.model.succeeded();
      return {
        ok: true,
        text: response.text,
        error: "",
        code: status.OK,
        attempts,
        replica,
        promptTokens: response.promptTokens,
        completionTokens: response.completionTokens,
      };
    } catch (err) {
      lastError = err;
      const model = modelFailureOf(err);
      if (model) pool.model.failed(model, Date.now());
      // With the model endpoint down (the agent's breaker open) every replica would fail the same way.
      if (!RETRYABLE.has(codeOf(err)) || request.signal.aborted || model?.down) break;
      // A dying process drops its connections a moment before its exit is reported; give the
      // provider that moment so a lost replica is not charged to the task. A replica that reports
      // the model's failure is alive.
      if (codeOf(err) === status.UNAVAILABLE && !model) await delay(LOST_REPLICA_GRACE_MS);
      // A replica that is gone (or going) is the pool's failure, not the task's.
      if (!pool.blocks.has(block.id) || block.state !== "RUNNING") lost += 1;
      else ownFailures += 1;
    } finally {
      pool.release(block);
    }
  }
  const code = request.signal.aborted
    ? status.CANCELLED
    : Date.now() >= request.deadline.getTime()
      ? status.DEADLINE_EXCEEDED
      : codeOf(lastError);
  const error = lastError === undefined ? status[code] : detailsOf(lastError);
  return { ok: false, text: "", error, code, attempts, replica, promptTokens: 0, completionTokens: 0 };
}
