import type { V1EndpointSlice, V1Pod } from "@kubernetes/client-node";
import type { BlockState } from "../block-event.js";

/** The annotation the ReplicaSet controller reads to pick which pods go first on scale-in. */
export const DELETION_COST = "controller.kubernetes.io/pod-deletion-cost";
/** Chorus's own mark on a pod it drained and is removing; every orchestrator stops routing to it. */
export const DRAINING_MARK = "chorus.dev/draining";
/** The deletion cost of a marked pod: below the default 0 of every other pod. */
export const VICTIM_COST = -1000;

/** What the provider reads from one pod. */
export interface PodView {
  readonly name: string;
  readonly ip: string | undefined;
  /** Bound to a node. */
  readonly assigned: boolean;
  readonly phase: string;
  /** The pod's Ready condition. */
  readonly ready: boolean;
  /** Has a deletionTimestamp: on its way out. */
  readonly terminating: boolean;
  /** Why the pod cannot serve (crash loop, image error, Failed phase); undefined when it can. */
  readonly failure: string | undefined;
  /** Carries Chorus's draining mark. */
  readonly marked: boolean;
  readonly deletionCost: number;
  /** The ReplicaSet generation it belongs to (label pod-template-hash). */
  readonly templateHash: string | undefined;
}

/** One pod's entry in its Service's EndpointSlices. */
export interface EndpointView {
  readonly ready: boolean;
  /** host:port of the named agent port; undefined when the slice has no such port. */
  readonly address: string | undefined;
}

// Waiting reasons after which a container will not come up without outside help or a back-off.
const BROKEN_WAITING = new Set([
  "CrashLoopBackOff",
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);

function failureOf(pod: V1Pod): string | undefined {
  const phase = pod.status?.phase;
  if (phase === "Failed" || phase === "Succeeded") {
    return `pod ${phase}${pod.status?.reason ? ` (${pod.status.reason})` : ""}`;
  }
  for (const container of pod.status?.containerStatuses ?? []) {
    const reason = container.state?.waiting?.reason;
    if (reason && BROKEN_WAITING.has(reason)) return `container ${container.name}: ${reason}`;
  }
  return undefined;
}

/** Reads the fields of a pod that decide its block state and its rank on scale-in. */
export function viewPod(pod: V1Pod): PodView {
  const annotations = pod.metadata?.annotations ?? {};
  const cost = Number.parseInt(annotations[DELETION_COST] ?? "0", 10);
  return {
    name: pod.metadata?.name ?? "",
    ip: pod.status?.podIP || undefined,
    assigned: Boolean(pod.spec?.nodeName),
    phase: pod.status?.phase ?? "Pending",
    ready: pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    terminating: Boolean(pod.metadata?.deletionTimestamp),
    failure: failureOf(pod),
    marked: annotations[DRAINING_MARK] !== undefined,
    deletionCost: Number.isFinite(cost) ? cost : 0,
    templateHash: pod.metadata?.labels?.["pod-template-hash"],
  };
}

/** True for a pod the ReplicaSet counts as one of its replicas: not deleting, not finished. */
export function isLive(pod: PodView): boolean {
  return !pod.terminating && pod.phase !== "Failed" && pod.phase !== "Succeeded";
}

/**
 * The block state of a pod: DRAINING once marked or deleting, FAILED when it cannot serve,
 * RUNNING when Ready and a ready endpoint of the pool's Service, PENDING otherwise.
 */
export function blockStateOf(pod: PodView, endpoint: EndpointView | undefined): BlockState {
  if (pod.terminating || pod.marked) return "DRAINING";
  if (pod.failure) return "FAILED";
  if (pod.ready && endpoint?.ready && endpoint.address) return "RUNNING";
  return "PENDING";
}

// The ReplicaSet controller's order for choosing pods to delete (ActivePodsWithRanks), up to the
// deletion cost: unassigned first, then Pending < Unknown < Running, then not Ready, then cost.
const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function rank(pod: PodView): number[] {
  return [pod.assigned ? 1 : 0, PHASE_ORDER[pod.phase] ?? 0, pod.ready ? 1 : 0, pod.deletionCost];
}

function compareRanks(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i += 1) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * True when lowering replicas by `victims.length` makes the ReplicaSet delete exactly `victims`:
 * every victim ranks strictly before every kept pod, so no later tie-break can pick a kept one.
 */
export function removesExactly(victims: readonly PodView[], kept: readonly PodView[]): boolean {
  return victims.every((victim) => kept.every((other) => compareRanks(rank(victim), rank(other)) < 0));
}

function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Indexes a Service's EndpointSlices by pod name: readiness and the address of the named port. */
export function endpointsByPod(
  slices: readonly V1EndpointSlice[],
  portName: string,
): Map<string, EndpointView> {
  const byPod = new Map<string, EndpointView>();
  for (const slice of slices) {
    const port = slice.ports?.find((p) => p.name === portName)?.port;
    for (const endpoint of slice.endpoints ?? []) {
      const pod = endpoint.targetRef?.kind === "Pod" ? endpoint.targetRef.name : undefined;
      const ip = endpoint.addresses?.[0];
      if (!pod || !ip) continue;
      // The API says a missing `ready` means ready; a terminating endpoint never is.
      const ready = endpoint.conditions?.ready !== false && endpoint.conditions?.terminating !== true;
      const view = { ready, address: port === undefined ? undefined : hostPort(ip, port) };
      // A pod listed in two slices (during a slice update) counts as ready if either says so.
      if (!byPod.get(pod)?.ready) byPod.set(pod, view);
    }
  }
  return byPod;
}
