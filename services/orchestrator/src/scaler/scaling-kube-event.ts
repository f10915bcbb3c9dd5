import { STRATEGIES, type StrategyName } from "../scaling/index.js";
import type { ScalingEvent } from "./scaling-events.js";

/** Who writes the Events: source.component and reportingComponent, as kubectl shows them (From). */
export const REPORTING_CONTROLLER = "chorus-orchestrator";
/** The label every Chorus scaling Event carries (its value: the pool), so followers watch only these. */
export const SCALING_EVENT_LABEL = "chorus.dev/scaling-pool";
/** The annotation that carries the scaling events an Event stands for, as JSON, for followers. */
export const CARRIED_ANNOTATION = "chorus.dev/scaling-events";

/** A scaling event with the id that keeps followers from taking it twice (`<identity>#<n>`). */
export interface CarriedEvent extends ScalingEvent {
  readonly id: string;
}

/** The apiserver rejects a longer note from events.k8s.io clients; core/v1 readers expect no more. */
const MAX_MESSAGE = 1024;
/** An annotation longer than this drops its oldest events (annotations share 256 KiB per object). */
const MAX_CARRIED_CHARS = 32_768;
const SHOWN_BLOCKS = 5;

/** The Event reason of a scaling reason: `scale_out` → `ScaleOut`, as Kubernetes reasons are written. */
export function eventReason(reason: string): string {
  return reason
    .split("_")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join("");
}

/** Warning for what did not go to plan (a block failed, the host's limit held blocks back); else Normal. */
export function eventType(reason: string): "Normal" | "Warning" {
  return reason === "block_failed" || reason === "host_limit" ? "Warning" : "Normal";
}

/** The Event message: what changed, blocks before and after, what drove it, and which blocks. */
export function eventMessage(event: ScalingEvent): string {
  const { blocksBefore, blocksAfter, tasks, slots, strategy, detail, blockIds } = event;
  const words = event.reason.replaceAll("_", " ");
  const shown = blockIds.slice(0, SHOWN_BLOCKS).join(", ");
  const more = blockIds.length > SHOWN_BLOCKS ? ` and ${blockIds.length - SHOWN_BLOCKS} more` : "";
  const blocks = blockIds.length > 0 ? `; blocks ${shown}${more}` : "";
  const message =
    `${words}: ${blocksBefore} -> ${blocksAfter} blocks (${tasks} tasks, ${slots} slots, ` +
    `strategy ${strategy}): ${detail}${blocks}`;
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
}

/** The annotation value for `carried` (oldest first), dropping the oldest while it is too long. */
export function encodeCarried(carried: readonly CarriedEvent[]): string {
  let kept = [...carried];
  for (;;) {
    const text = JSON.stringify(kept);
    if (text.length <= MAX_CARRIED_CHARS || kept.length <= 1) return text;
    kept = kept.slice(1);
  }
}

const isCount = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0;
const isText = (value: unknown): value is string => typeof value === "string";

function decodeOne(raw: unknown): CarriedEvent | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const e = raw as Record<string, unknown>;
  const counts = [e.timeMs, e.blocksBefore, e.blocksAfter, e.tasks, e.slots].every(isCount);
  const texts = [e.id, e.pool, e.reason, e.detail].every(isText);
  const ids = Array.isArray(e.blockIds) && e.blockIds.every(isText);
  if (!counts || !texts || !ids || !STRATEGIES.includes(e.strategy as StrategyName)) return undefined;
  return {
    id: e.id as string,
    timeMs: e.timeMs as number,
    pool: e.pool as string,
    blocksBefore: e.blocksBefore as number,
    blocksAfter: e.blocksAfter as number,
    // Another Chorus version may know reasons this one does not; they are shown as they come.
    reason: e.reason as ScalingEvent["reason"],
    tasks: e.tasks as number,
    slots: e.slots as number,
    strategy: e.strategy as StrategyName,
    detail: e.detail as string,
    blockIds: [...(e.blockIds as string[])],
  };
}

/** The scaling events an annotation carries; malformed entries (or a malformed value) yield none. */
export function decodeCarried(text: string | undefined): CarriedEvent[] {
  if (!text) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.map(decodeOne).filter((event): event is CarriedEvent => event !== undefined);
}
