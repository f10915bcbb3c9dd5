import type { MessageInitShape } from "@bufbuild/protobuf";
import { Aggregation, type Turn, type TurnSchema } from "@chorus/proto";

/** The plain-object form of a Turn initializer, every field optional. */
export type TurnInit = Exclude<MessageInitShape<typeof TurnSchema>, Turn>;

/** A fully populated turn for tests; `overrides` replace any field. */
export function sampleTurn(turnId: string, conversationId: string, overrides: TurnInit = {}): TurnInit {
  return {
    turnId,
    conversationId,
    message: `question of ${turnId}`,
    answer: `answer of ${turnId}`,
    aggregation: Aggregation.PRIORITY,
    latencyMs: 812.5,
    startedAtMs: 1_700_000_000_000n,
    completedAtMs: 1_700_000_000_812n,
    answeredBy: ["creative", "balanced"],
    agentAnswers: [
      {
        agent: "creative",
        replica: "127.0.0.1:7001",
        text: "a vivid answer",
        ok: true,
        latencyMs: 640.25,
        attempts: 1,
        promptTokens: 31,
        completionTokens: 48,
      },
      { agent: "analytical", replica: "127.0.0.1:7002", ok: false, error: "deadline exceeded", attempts: 3 },
      {
        agent: "balanced",
        replica: "127.0.0.1:7003",
        text: "a cached answer",
        ok: true,
        latencyMs: 0.5,
        attempts: 1,
        cached: true,
      },
    ],
    ...overrides,
  };
}
