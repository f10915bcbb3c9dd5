import type { ProviderRoom } from "../providers/provider.js";

/** What a strategy's scale-out may launch within the provider's room. */
export interface Grant {
  readonly count: number;
  /** Says what the limit held back; empty when nothing was. */
  readonly note: string;
}

/**
 * Cuts a scale-out of `wanted` blocks to the provider's room, but never below `floor` (the blocks
 * that restore min_blocks: a pool always gets its minimum).
 */
export function withinRoom(wanted: number, floor: number, room: ProviderRoom | undefined): Grant {
  if (!room) return { count: wanted, note: "" };
  const count = Math.min(wanted, Math.max(floor, room.blocks));
  if (count >= wanted) return { count, note: "" };
  return { count, note: `${wanted - count} of ${wanted} blocks not launched: ${room.limit}` };
}
