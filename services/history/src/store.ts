import type { Conversation, Turn } from "@chorus/proto";
import type { PageCursor } from "./page-token.js";

/**
 * Whose data one store call acts on. Every conversation has one owner, the principal that created
 * it; a call sees only its owner's conversations (and their turns) unless it is an admin's.
 */
export interface Scope {
  /** The principal the call acts for: it owns what the call creates. */
  readonly owner: string;
  /** True when the call may see and change every owner's data (what it creates is still its own). */
  readonly admin: boolean;
}

/** The outcome of appending a turn. */
export interface AppendResult {
  /** The turn as stored, with its seq. */
  readonly turn: Turn;
  /** False when the turn_id was already stored and nothing was written. */
  readonly created: boolean;
}

/**
 * Where a turn_id stands after claimTurn: stored (with the turn), held by another claim (for
 * retryAfterMs more unless renewed), or claimed by this one.
 */
export type ClaimResult =
  | { readonly state: "stored"; readonly turn: Turn }
  | { readonly state: "held"; readonly retryAfterMs: number }
  | { readonly state: "claimed" };

/**
 * Thrown by appendTurn when the turn_id is already stored in a conversation outside the scope:
 * turn ids are unique across owners, and the stored turn is not the caller's to return.
 */
export class TurnIdTakenError extends Error {
  constructor(readonly turnId: string) {
    super(`turn_id "${turnId}" is already taken`);
    this.name = "TurnIdTakenError";
  }
}

/** A claim a turn asks for: its turn_id, for claim_id, for leaseMs. */
export interface TurnClaim {
  readonly turnId: string;
  readonly claimId: string;
  readonly leaseMs: number;
}

/** What prepareTurn found: the claim's outcome (when one was asked for) and the context. */
export interface PrepareResult {
  readonly claim: ClaimResult | undefined;
  /** The conversation and its latest turns: asked for, and the claim (if any) is this call's. */
  readonly context: ConversationWithTurns | undefined;
}

/** One append of a group commit, in its own scope. */
export interface AppendItem {
  readonly scope: Scope;
  readonly turn: Turn;
  readonly createConversation: boolean;
}

/** What became of one append of a group commit: its result (as appendTurn's), or its own error. */
export type AppendOutcome =
  | { readonly ok: true; readonly result: AppendResult | undefined }
  | { readonly ok: false; readonly error: unknown };

/** A conversation and its turns, oldest first. */
export interface ConversationWithTurns {
  readonly conversation: Conversation;
  readonly turns: Turn[];
}

/** One page of conversations, most recently updated first. */
export interface ConversationPage {
  readonly conversations: Conversation[];
  /** Where the next page starts; undefined on the last page. */
  readonly next: PageCursor | undefined;
}

/**
 * Durable storage of conversations and their turns, each call confined to a Scope. "Not found" is
 * always `undefined`, and a conversation outside the scope is not found, exactly like a missing one.
 */
export interface Store {
  /**
   * Stores `turn` with the next seq of its conversation, or returns the turn already stored under
   * its turn_id in the scope; a new conversation is owned by `scope.owner`. Undefined when the
   * conversation is outside the scope, or unknown and may not be created; throws TurnIdTakenError
   * when the turn_id is stored outside the scope.
   */
  appendTurn(scope: Scope, turn: Turn, createConversation: boolean): Promise<AppendResult | undefined>;
  /**
   * Claims `turnId` for `claimId` for `leaseMs`, unless it is stored in the scope (stored) or a
   * live claim of the scope's owner with another id holds it (held). The same claimId renews its
   * lease; a lease that ran out is taken over. Claims are per owner: another owner's never holds.
   * Throws TurnIdTakenError when the turn_id is stored outside the scope. Storing the turn (in
   * appendTurn) ends the owner's claim on it.
   */
  claimTurn(scope: Scope, turnId: string, claimId: string, leaseMs: number): Promise<ClaimResult>;
  /**
   * In one transaction: the stored turn when `claim`'s turn_id is stored in the scope (throws
   * TurnIdTakenError outside it); else undefined when `conversationId` is given and not in the
   * scope (nothing claimed); else the claim's outcome (as claimTurn), and the conversation's latest
   * `lastTurns` turns (0: all) when one was asked for and the claim, if any, is now this call's.
   */
  prepareTurn(
    scope: Scope,
    claim: TurnClaim | undefined,
    conversationId: string | undefined,
    lastTurns: number,
  ): Promise<PrepareResult | undefined>;
  /**
   * Appends every item (each as appendTurn would, in its own scope) in ONE transaction; an item
   * that fails is rolled back alone and its error returned in its place. Rejects (nothing stored)
   * only when the transaction itself fails. Outcomes are in the items' order.
   */
  appendTurns(items: readonly AppendItem[]): Promise<AppendOutcome[]>;
  /** Ends the scope owner's claim `claimId` on `turnId`; false when it was not held. */
  releaseTurn(scope: Scope, turnId: string, claimId: string): Promise<boolean>;
  /** One turn by id. */
  getTurn(scope: Scope, turnId: string): Promise<Turn | undefined>;
  /** A conversation with its latest `lastTurns` turns (0 means all), oldest first. */
  getConversation(
    scope: Scope,
    conversationId: string,
    lastTurns: number,
  ): Promise<ConversationWithTurns | undefined>;
  /** Up to `pageSize` conversations in the scope after `after`, most recently updated first. */
  listConversations(scope: Scope, pageSize: number, after: PageCursor | undefined): Promise<ConversationPage>;
  /**
   * Turns in the scope whose message or answer contains `query`, newest first; with
   * `conversationId`, only that conversation's (undefined when it is not found). ASCII letters
   * match in either case, every other character exactly, on every backend (SQLite's LIKE).
   */
  searchTurns(
    scope: Scope,
    query: string,
    conversationId: string | undefined,
    limit: number,
  ): Promise<Turn[] | undefined>;
  /** Deletes a conversation with its turns; resolves to the number of turns deleted. */
  deleteConversation(scope: Scope, conversationId: string): Promise<number | undefined>;
  /** A conversation's turns, oldest first, read in batches; none once it is outside the scope. */
  iterateTurns(scope: Scope, conversationId: string): AsyncIterable<Turn>;
  /** Whether the conversation exists in the scope. */
  conversationExists(scope: Scope, conversationId: string): Promise<boolean>;
}
