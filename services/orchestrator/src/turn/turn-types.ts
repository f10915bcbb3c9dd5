import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ChorusConfig } from "@chorus/config";
import type { Aggregation, ChatEventSchema } from "@chorus/proto";
import type { Logger, Principal } from "@chorus/shared";
import type { Cache } from "../cache/cache.js";
import type { AgentDispatch } from "./agent-dispatch.js";
import type { InFlightAnswers } from "./in-flight-answers.js";
import type { InFlightTurns } from "./in-flight-turns.js";
import type { TurnHistory } from "./turn-history.js";
import type { TurnRecorder } from "./turn-recorder.js";

/** Everything a turn needs from the orchestrator. */
export interface TurnDeps {
  readonly config: ChorusConfig;
  readonly pools: ReadonlyMap<string, AgentDispatch>;
  readonly history: TurnHistory;
  readonly cache: Cache | undefined;
  readonly recorder: TurnRecorder;
  readonly log: Logger;
  /** Turns with a turn_id running in this orchestrator, which a duplicate waits for. */
  readonly turns: InFlightTurns;
  /** Cacheable agent generations running in this orchestrator, which an identical request joins. */
  readonly answers: InFlightAnswers;
}

/** A validated turn request. */
export interface TurnInput {
  readonly conversationId: string;
  readonly message: string;
  readonly turnId: string;
  readonly aggregation: Aggregation;
  readonly agents: readonly string[];
  readonly deadline: Date;
  readonly signal: AbortSignal;
  readonly requestId: string;
  /** Who asked: the turn is stored in, and its context and cache are read from, this principal's data. */
  readonly principal: Principal;
  /** Whose turn this is for fair queuing in the pools (the api's client key); absent: one shared client. */
  readonly client?: string | undefined;
  /** Batch items skip the conversation context. */
  readonly useContext: boolean;
  /** Batch items go into a conversation the batch creates. */
  readonly createConversation?: boolean | undefined;
  readonly onEvent?: ((event: MessageInitShape<typeof ChatEventSchema>) => void) | undefined;
}
