import { create } from "@bufbuild/protobuf";
import {
  AppendTurnResponseSchema,
  ClaimTurnResponseSchema,
  ClaimTurnState,
  ConversationSchema,
  GetConversationResponseSchema,
  GetTurnResponseSchema,
  PrepareTurnResponseSchema,
  ReleaseTurnResponseSchema,
  type Turn,
  TurnSchema,
} from "@chorus/proto";
import { ACTING_FOR_PRINCIPAL_KEY, RpcError, type RpcOptions } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { HistoryConnection, TurnHistory } from "../turn/turn-history.js";

type Append = TurnHistory["appendTurn"];

/** The claim key of a call: its principal and the turn_id, as history keys claims per owner. */
const claimKey = (turnId: string, options?: RpcOptions) =>
  JSON.stringify([options?.metadata?.[ACTING_FOR_PRINCIPAL_KEY] ?? "local", turnId]);

/** A TurnHistory for tests: turns in memory, every write counted, failures injected on demand. */
export class FakeHistory implements TurnHistory {
  private readonly turns = new Map<string, Turn>();
  private readonly conversations = new Map<string, Turn[]>();
  private readonly claims = new Map<string, { claimId: string; expiresAtMs: number }>();
  private failures: status[] = [];
  /** AppendTurn calls received, on any connection. */
  appends = 0;
  /** New connections dialled for retries. */
  reconnects = 0;
  /** ClaimTurn calls received (renewals and polls included). */
  claimCalls = 0;
  /** ReleaseTurn calls received. */
  releases = 0;
  /** PrepareTurn calls received (polls included). */
  prepareCalls = 0;
  /** GetConversation calls received. */
  conversationReads = 0;
  /** When false, PrepareTurn answers UNIMPLEMENTED, as a history built before it. */
  knowsPrepare = true;
  /** When false, ClaimTurn and ReleaseTurn answer UNIMPLEMENTED, as a history built before them. */
  knowsClaims = true;

  /** Holds `turnId` for `principal` under another request's claim for `leaseMs`, as a request elsewhere would. */
  claimElsewhere(turnId: string, leaseMs: number, principal = "local"): void {
    this.claims.set(JSON.stringify([principal, turnId]), {
      claimId: "elsewhere",
      expiresAtMs: Date.now() + leaseMs,
    });
  }

  /** The claims held now (their leases running). */
  liveClaims(): number {
    return [...this.claims.values()].filter((c) => c.expiresAtMs > Date.now()).length;
  }

  /** Makes the next AppendTurn calls fail with these codes, one each, on any connection. */
  failAppends(...codes: status[]): void {
    this.failures.push(...codes);
  }

  /** Every stored turn of a conversation, oldest first. */
  stored(conversationId: string): readonly Turn[] {
    return this.conversations.get(conversationId) ?? [];
  }

  readonly appendTurn: Append = async (request, options) => {
    this.appends += 1;
    const code = this.failures.shift();
    if (code !== undefined) throw new RpcError(code, `injected ${status[code]}`);
    const turn = create(TurnSchema, request.turn ?? {});
    const known = this.turns.get(turn.turnId);
    if (known) return create(AppendTurnResponseSchema, { turn: known, created: false });
    const conversation = this.conversations.get(turn.conversationId);
    if (!conversation && !request.createConversation) {
      throw new RpcError(status.NOT_FOUND, `conversation "${turn.conversationId}" not found`);
    }
    const turns = conversation ?? [];
    turn.seq = turns.length + 1;
    turns.push(turn);
    this.conversations.set(turn.conversationId, turns);
    this.turns.set(turn.turnId, turn);
    this.claims.delete(claimKey(turn.turnId, options));
    return create(AppendTurnResponseSchema, { turn, created: true });
  };

  readonly claimTurn: TurnHistory["claimTurn"] = async (
    { turnId = "", claimId = "", leaseMs = 0 },
    options,
  ) => {
    this.claimCalls += 1;
    if (!this.knowsClaims) throw new RpcError(status.UNIMPLEMENTED, "unknown method ClaimTurn");
    const turn = this.turns.get(turnId);
    if (turn) return create(ClaimTurnResponseSchema, { state: ClaimTurnState.STORED, turn });
    const key = claimKey(turnId, options);
    const held = this.claims.get(key);
    const now = Date.now();
    if (held && held.claimId !== claimId && held.expiresAtMs > now) {
      return create(ClaimTurnResponseSchema, {
        state: ClaimTurnState.HELD,
        retryAfterMs: held.expiresAtMs - now,
      });
    }
    this.claims.set(key, { claimId, expiresAtMs: now + leaseMs });
    return create(ClaimTurnResponseSchema, { state: ClaimTurnState.CLAIMED });
  };

  readonly prepareTurn: TurnHistory["prepareTurn"] = async (request, options) => {
    this.prepareCalls += 1;
    if (!this.knowsPrepare) throw new RpcError(status.UNIMPLEMENTED, "unknown method PrepareTurn");
    const { turnId = "", conversationId = "", lastTurns = 0 } = request;
    const stored = this.turns.get(turnId);
    if (turnId && stored)
      return create(PrepareTurnResponseSchema, { state: ClaimTurnState.STORED, turn: stored });
    const turns = this.conversations.get(conversationId);
    if (conversationId && !turns)
      throw new RpcError(status.NOT_FOUND, `conversation "${conversationId}" not found`);
    const { claimId = "", leaseMs = 0 } = request;
    const claim = turnId ? await this.claimTurn({ turnId, claimId, leaseMs }, options) : undefined;
    if (claim) this.claimCalls -= 1;
    if (claim && claim.state !== ClaimTurnState.CLAIMED)
      return create(PrepareTurnResponseSchema, { state: claim.state, retryAfterMs: claim.retryAfterMs });
    return create(PrepareTurnResponseSchema, {
      state: claim?.state ?? ClaimTurnState.UNSPECIFIED,
      ...(turns
        ? {
            conversation: create(ConversationSchema, { conversationId, turnCount: turns.length }),
            turns: turns.slice(-(lastTurns || turns.length)),
          }
        : {}),
    });
  };

  readonly releaseTurn: TurnHistory["releaseTurn"] = async ({ turnId = "", claimId = "" }, options) => {
    this.releases += 1;
    if (!this.knowsClaims) throw new RpcError(status.UNIMPLEMENTED, "unknown method ReleaseTurn");
    const key = claimKey(turnId, options);
    const released = this.claims.get(key)?.claimId === claimId;
    if (released) this.claims.delete(key);
    return create(ReleaseTurnResponseSchema, { released });
  };

  readonly getTurn: TurnHistory["getTurn"] = async ({ turnId }) => {
    const turn = this.turns.get(turnId ?? "");
    if (!turn) throw new RpcError(status.NOT_FOUND, `turn "${turnId}" not found`);
    return create(GetTurnResponseSchema, { turn });
  };

  readonly getConversation: TurnHistory["getConversation"] = async ({ conversationId, lastTurns }) => {
    this.conversationReads += 1;
    const turns = this.conversations.get(conversationId ?? "");
    if (!turns) throw new RpcError(status.NOT_FOUND, `conversation "${conversationId}" not found`);
    return create(GetConversationResponseSchema, {
      conversation: create(ConversationSchema, { conversationId, turnCount: turns.length }),
      turns: turns.slice(-(lastTurns || turns.length)),
    });
  };

  reconnect(): HistoryConnection {
    this.reconnects += 1;
    const { appendTurn, getTurn, getConversation, claimTurn, releaseTurn, prepareTurn } = this;
    return { appendTurn, getTurn, getConversation, claimTurn, releaseTurn, prepareTurn, close: () => {} };
  }
}
