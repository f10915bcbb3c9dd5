import { setTimeout as delay } from "node:timers/promises";
import { codeOf, detailsOf } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { attempt } from "./attempt.js";
import { inAttemptSpan } from "./attempt-span.js";
import type { Block } from "./block.js";
import { ReplicaLostError } from "./channel-task.js";
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
  /** A hedge was sent for one of its attempts (absent: no). */
  readonly hedged?: boolean | undefined;
  /** A hedge gave the answer (absent: no). */
  readonly hedgeWon?: boolean | undefined;
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

/**
 * Runs one agent task on the pool: sent down the task channel of the least-loaded replica with a
 * free credit, retried on another replica when that one fails or is lost, hedged when the pool says so.
 */
export async function runAgentTask(pool: Pool, request: AgentTaskRequest): Promise<AgentTaskResult> {
  const tried = new Set<string>();
  let attempts = 0;
  let ownFailures = 0;
  let lost = 0;
  let lastError: unknown;
  let replica = "";
  let hedged = false;
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
    const outcome = await inAttemptSpan(block, attempts, request, (traced) =>
      attempt(pool, block, traced, tried),
    );
    if (outcome.hedged) {
      hedged = true;
      attempts += 1;
    }
    replica = outcome.block.address;
    if (outcome.ok) {
      const { response } = outcome;
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
        hedged,
        hedgeWon: outcome.hedgeWon,
      };
    }
    const err = outcome.error;
    const failed = outcome.block;
    lastError = err;
    const model = modelFailureOf(err);
    if (model) pool.model.failed(model, Date.now());
    // With the model endpoint down (the agent's breaker open) every replica would fail the same way.
    if (!RETRYABLE.has(codeOf(err)) || request.signal.aborted || model?.down) break;
    // A broken channel or a replica that stopped answering is the pool's failure, not the task's.
    if (err instanceof ReplicaLostError) {
      lost += 1;
      continue;
    }
    // A dying process may fail a task a moment before its exit is reported; give the provider that
    // moment so a lost replica is not charged to the task. A replica that reports the model's
    // failure is alive.
    if (codeOf(err) === status.UNAVAILABLE && !model) await delay(LOST_REPLICA_GRACE_MS);
    if (!pool.blocks.has(failed.id) || failed.state !== "RUNNING") lost += 1;
    else ownFailures += 1;
  }
  const code = request.signal.aborted
    ? status.CANCELLED
    : Date.now() >= request.deadline.getTime()
      ? status.DEADLINE_EXCEEDED
      : codeOf(lastError);
  const error = lastError === undefined ? status[code] : detailsOf(lastError);
  return {
    ok: false,
    text: "",
    error,
    code,
    attempts,
    replica,
    promptTokens: 0,
    completionTokens: 0,
    hedged,
    hedgeWon: false,
  };
}
