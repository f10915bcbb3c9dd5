import { type PodView, removesExactly } from "./pod-state.js";

/** What the leader knows when it moves a pool's replicas towards what the scaler wants. */
export interface ReplicaPlanInput {
  /** Pods the ReplicaSet counts (not deleting, not finished). */
  readonly live: readonly PodView[];
  /** Live pods being removed. */
  readonly doomed: ReadonlySet<string>;
  /** Pods whose mark was sent and is not visible yet. */
  readonly marking: ReadonlySet<string>;
  /** spec.replicas once Chorus's pending writes land. */
  readonly current: number;
  /** Blocks the scaler wants, not counting pods being removed. */
  readonly intent: number;
}

/** The next write, or why there is none yet. */
export type ReplicaStep =
  | { readonly kind: "mark"; readonly pods: readonly string[] }
  | { readonly kind: "scale"; readonly replicas: number; readonly removing: readonly string[] }
  /** `routine` waits last a moment (marks, the ReplicaSet at work); others can last (pods not Ready). */
  | { readonly kind: "wait"; readonly reason: string; readonly routine: boolean }
  | { readonly kind: "done" };

/**
 * Plans one step of a pool's scaling. Pods to remove are first marked (with a low deletion cost);
 * replicas are lowered by their number only once the marks are visible and the ReplicaSet's own
 * order would pick exactly them; only then are replicas raised to what the scaler wants.
 */
export function nextReplicaStep(input: ReplicaPlanInput): ReplicaStep {
  const { live, doomed, marking, current, intent } = input;
  const victims = live.filter((pod) => doomed.has(pod.name));
  const kept = live.filter((pod) => !doomed.has(pod.name));
  if (victims.length === 0)
    return current === intent ? { kind: "done" } : { kind: "scale", replicas: intent, removing: [] };
  const unmarked = victims.filter((pod) => !pod.marked && !marking.has(pod.name)).map((pod) => pod.name);
  if (unmarked.length > 0) return { kind: "mark", pods: unmarked };
  if (victims.some((pod) => !pod.marked))
    return { kind: "wait", reason: "marks not visible yet", routine: true };
  if (current === kept.length)
    return { kind: "wait", reason: "the ReplicaSet is removing the marked pods", routine: true };
  // Never raise replicas here: with fewer replicas than live pods the ReplicaSet is removing some
  // already, and the marked ones rank first.
  if (current < live.length)
    return { kind: "wait", reason: "the ReplicaSet is still removing pods", routine: true };
  if (new Set(live.map((pod) => pod.templateHash)).size > 1)
    return { kind: "wait", reason: "a rollout is in progress", routine: false };
  if (!removesExactly(victims, kept)) {
    const early = kept
      .filter((pod) => !pod.ready || !pod.assigned || pod.phase !== "Running")
      .map((pod) => pod.name);
    const reason = early.length
      ? `pods not Ready yet (${early.join(", ")}) would go first`
      : "a kept pod has a pod-deletion-cost as low as the marked ones";
    return { kind: "wait", reason, routine: false };
  }
  return { kind: "scale", replicas: kept.length, removing: victims.map((pod) => pod.name) };
}
