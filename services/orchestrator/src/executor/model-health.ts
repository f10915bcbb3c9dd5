import { detailsOf, MODEL_DOWN_KEY, MODEL_FAILURE_KEY } from "@chorus/shared";
import { Metadata } from "@grpc/grpc-js";

/** A task failure an agent put down to the model, from its trailers (model-trailers.ts). */
export interface ModelFailure {
  /** unavailable, timeout, rate_limited or rejected. */
  readonly kind: string;
  /** True while the agent's circuit breaker for the endpoint is open: no replica can do better. */
  readonly down: boolean;
  readonly detail: string;
}

/** The model failure an agent's error reports; undefined for a failure of the replica or the call. */
export function modelFailureOf(err: unknown): ModelFailure | undefined {
  const metadata = (err as { metadata?: unknown } | undefined)?.metadata;
  if (!(metadata instanceof Metadata)) return undefined;
  const kind = metadata.get(MODEL_FAILURE_KEY)[0];
  if (typeof kind !== "string") return undefined;
  return { kind, down: metadata.get(MODEL_DOWN_KEY).length > 0, detail: detailsOf(err) };
}

/** How a pool's tasks last found the model: answering, failing, or down (the agents' breaker open). */
export type ModelState = "ok" | "failing" | "down";

/**
 * What a pool's tasks learned about its model endpoint, at no cost: failing from a task that failed
 * on the model until a task succeeds. While it fails, more blocks would not help.
 */
export class ModelHealth {
  private current: ModelState = "ok";
  private lastDetail = "";
  private since = 0;

  constructor(private readonly onChange: () => void = () => {}) {}

  get state(): ModelState {
    return this.current;
  }

  /** True while the pool's tasks fail on the model. */
  get failing(): boolean {
    return this.current !== "ok";
  }

  /** The last model error, naming the endpoint; empty when ok. */
  get detail(): string {
    return this.lastDetail;
  }

  /** When the tasks began failing on the model (ms since the epoch); 0 when ok. */
  get sinceMs(): number {
    return this.since;
  }

  /** Records a task that failed on the model. */
  failed(failure: ModelFailure, nowMs: number): void {
    const next: ModelState = failure.down ? "down" : "failing";
    this.lastDetail = failure.detail;
    if (next === this.current) return;
    if (this.current === "ok") this.since = nowMs;
    this.current = next;
    this.onChange();
  }

  /** Records a task the model answered. */
  succeeded(): void {
    if (this.current === "ok") return;
    this.current = "ok";
    this.lastDetail = "";
    this.since = 0;
    this.onChange();
  }
}
