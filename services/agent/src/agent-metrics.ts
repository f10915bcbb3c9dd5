import { LATENCY_BUCKETS } from "@chorus/shared";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Outcome } from "./replica-load.js";

/** The agent's own Prometheus metrics: generation latency, tokens and generations in flight. */
export class AgentMetrics {
  private readonly seconds: Histogram<"agent" | "outcome">;
  private readonly tokens: Counter<"agent" | "kind">;
  private readonly inFlight: Gauge<"agent">;

  constructor(
    registry: Registry,
    private readonly agent: string,
  ) {
    const registers = [registry];
    this.seconds = new Histogram({
      name: "chorus_agent_generation_seconds",
      help: "Time from accepting a generation to its end, by outcome.",
      labelNames: ["agent", "outcome"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.tokens = new Counter({
      name: "chorus_agent_tokens_total",
      help: "Tokens the model reported, by kind (prompt or completion).",
      labelNames: ["agent", "kind"],
      registers,
    });
    this.inFlight = new Gauge({
      name: "chorus_agent_in_flight",
      help: "Generations running now.",
      labelNames: ["agent"],
      registers,
    });
  }

  /** Records a generation start. */
  started(): void {
    this.inFlight.inc({ agent: this.agent });
  }

  /** Records a generation end, its duration and, when it completed, its token counts. */
  finished(
    outcome: Outcome,
    seconds: number,
    usage?: { promptTokens: number; completionTokens: number },
  ): void {
    const agent = this.agent;
    this.inFlight.dec({ agent });
    this.seconds.observe({ agent, outcome }, seconds);
    if (usage) {
      this.tokens.inc({ agent, kind: "prompt" }, usage.promptTokens);
      this.tokens.inc({ agent, kind: "completion" }, usage.completionTokens);
    }
  }
}
