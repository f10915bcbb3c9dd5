import { create } from "@bufbuild/protobuf";
import {
  AppendTurnResponseSchema,
  ConversationSchema,
  GetConversationResponseSchema,
  GetTurnResponseSchema,
  type Turn,
  TurnSchema,
} from "@chorus/proto";
import { RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { HistoryConnection, TurnHistory } from "../turn/turn-history.js";

type Append = TurnHistory["appendTurn"];

/** A TurnHistory for tests: turns in memory, every write counted, failures injected on demand. */
export class FakeHistory implements TurnHistory {
  private readonly turns = new Map<string, Turn>();
  private readonly conversations = new Map<string, Turn[]>();
  private failures: status[] = [];
  /** AppendTurn calls received, on any connection. */
  appends = 0;
  /** New connections dialled for retries. */
  reconnects = 0;

  /** Makes the next AppendTurn calls fail with these codes, one each, on any connection. */
  failAppends(...codes: status[]): void {
    this.failures.push(...codes);
  }

  /** Every stored turn of a conversation, oldest first. */
  stored(conversationId: string): readonly Turn[] {
    return this.conversations.get(conversationId) ?? [];
  }

  readonly appendTurn: Append = async (request) => {
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
    return create(AppendTurnResponseSchema, { turn, created: true });
  };

  readonly getTurn: TurnHistory["getTurn"] = async ({ turnId }) => {
    const turn = this.turns.get(turnId ?? "");
    if (!turn) throw new RpcError(status.NOT_FOUND, `turn "${turnId}" not found`);
    return create(GetTurnResponseSchema, { turn });
  };

  readonly getConversation: TurnHistory["getConversation"] = async ({ conversationId, lastTurns }) => {
    const turns = this.conversations.get(conversationId ?? "");
    if (!turns) throw new RpcError(status.NOT_FOUND, `conversation "${conversationId}" not found`);
    return create(GetConversationResponseSchema, {
      conversation: create(ConversationSchema, { conversationId, turnCount: turns.length }),
      turns: turns.slice(-(lastTurns || turns.length)),
    });
  };

  reconnect(): HistoryConnection {
    this.reconnects += 1;
    const { appendTurn, getTurn, getConversation } = this;
    return { appendTurn, getTurn, getConversation, close: () => {} };
  }
}
