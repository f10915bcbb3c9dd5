import type { Conversation, Turn } from "@chorus/proto";
import type { PageCursor } from "./page-token.js";

/** The outcome of appending a turn. */
export interface AppendResult {
  /** The turn as stored, with its seq. */
  readonly turn: Turn;
  /** False when the turn_id was already stored and nothing was written. */
  readonly created: boolean;
}

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

/** Durable storage of conversations and their turns; "not found" is always `undefined`. */
export interface Store {
  /**
   * Stores `turn` with the next seq of its conversation, or returns the turn already stored
   * under its turn_id; undefined when the conversation is unknown and may not be created.
   */
  appendTurn(turn: Turn, createConversation: boolean): Promise<AppendResult | undefined>;
  /** One turn by id. */
  getTurn(turnId: string): Promise<Turn | undefined>;
  /** A conversation with its latest `lastTurns` turns (0 means all), oldest first. */
  getConversation(conversationId: string, lastTurns: number): Promise<ConversationWithTurns | undefined>;
  /** Up to `pageSize` conversations after `after`, most recently updated first. */
  listConversations(pageSize: number, after: PageCursor | undefined): Promise<ConversationPage>;
  /** Turns whose message or answer contains `query` (case-insensitive), newest first. */
  searchTurns(query: string, conversationId: string | undefined, limit: number): Promise<Turn[]>;
  /** Deletes a conversation with its turns; resolves to the number of turns deleted. */
  deleteConversation(conversationId: string): Promise<number | undefined>;
  /** A conversation's turns, oldest first, read in batches. */
  iterateTurns(conversationId: string): AsyncIterable<Turn>;
  /** Whether the conversation exists. */
  conversationExists(conversationId: string): Promise<boolean>;
}
