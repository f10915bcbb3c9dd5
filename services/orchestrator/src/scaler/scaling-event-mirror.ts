import type { Logger } from "@chorus/shared";
import { CoreV1Api, type CoreV1Event, type KubeConfig } from "@kubernetes/client-node";
import { Watcher } from "../providers/kubernetes/client.js";
import type { ScalingEvent, ScalingEvents } from "./scaling-events.js";
import {
  CARRIED_ANNOTATION,
  decodeCarried,
  REPORTING_CONTROLLER,
  SCALING_EVENT_LABEL,
} from "./scaling-kube-event.js";

/** What the mirror needs. */
export interface EventMirrorOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  /** The pool of each pool's Deployment, by Deployment name. */
  readonly poolOfDeployment: ReadonlyMap<string, string>;
  /** This orchestrator's identity: events it wrote itself are already in its ring. */
  readonly identity: string;
  readonly events: ScalingEvents;
  readonly log: Logger;
}

/** Ids remembered so that a re-listed Event is not taken twice (16 per Event, many Events). */
const MAX_SEEN = 4096;

/**
 * Feeds the leader's scaling events into this orchestrator's ScalingEvents, so WatchScaling answers
 * the same on every replica. It watches the Kubernetes Events the leader writes rather than an
 * annotation on the leader's pod: the Events are written anyway, so followers stream exactly what
 * `kubectl describe` explains, with no second write per decision and nothing lost when the leader's
 * pod goes away.
 *
 * The bound: once a write round (at most 2 s) and the watch have delivered them, a follower's
 * replay holds the leader's events in the same (time) order, except events older than the
 * apiserver's --event-ttl (1 h by default), the oldest beyond 16 repeats of one change (same pool,
 * reason, blocks before and after) in one Event, and events beyond 64 waiting for one pool's write.
 * Both rings keep the latest 256. A follower's own ScalePool answer is in its ring only.
 */
export class ScalingEventMirror {
  private watcher: Watcher<CoreV1Event> | undefined;
  private readonly seen = new Set<string>();
  private readonly versions = new Map<string, string>();
  private readonly inserted = new WeakSet<ScalingEvent>();

  constructor(private readonly options: EventMirrorOptions) {}

  /** Lists the Events the leaders wrote (replaying them) and follows new ones. */
  async start(): Promise<void> {
    const { kc, namespace, log } = this.options;
    const core = kc.makeApiClient(CoreV1Api);
    this.watcher = new Watcher<CoreV1Event>(
      kc,
      `/api/v1/namespaces/${namespace}/events`,
      () => core.listNamespacedEvent({ namespace, labelSelector: SCALING_EVENT_LABEL }),
      SCALING_EVENT_LABEL,
      {
        changed: (event) => this.heard(event),
        deleted: (event) => this.versions.delete(event.metadata?.name ?? ""),
      },
      `scaling events in ${namespace}`,
      log,
    );
    await this.watcher.start();
  }

  private heard(event: CoreV1Event): void {
    const name = event.metadata?.name ?? "";
    const version = event.metadata?.resourceVersion ?? "";
    // A re-list hands over every Event again; only a changed one can carry something new.
    if (this.versions.get(name) === version) return;
    this.versions.set(name, version);
    const component = event.reportingComponent || event.source?.component;
    const target = event.involvedObject;
    const pool = this.options.poolOfDeployment.get(target.name ?? "");
    if (component !== REPORTING_CONTROLLER || target.kind !== "Deployment" || pool === undefined) return;
    const own = `${this.options.identity}#`;
    for (const carried of decodeCarried(event.metadata?.annotations?.[CARRIED_ANNOTATION])) {
      if (carried.pool !== pool || carried.id.startsWith(own) || this.seen.has(carried.id)) continue;
      this.seen.add(carried.id);
      if (this.seen.size > MAX_SEEN) this.seen.delete(this.seen.values().next().value ?? "");
      const { id: _id, ...scaling } = carried;
      this.inserted.add(scaling);
      this.options.events.insert(scaling);
    }
  }

  /** True for an event this mirror brought in from an Event another orchestrator wrote. */
  mirrored(event: ScalingEvent): boolean {
    return this.inserted.has(event);
  }

  /** Stops watching. */
  async close(): Promise<void> {
    await this.watcher?.stop();
  }
}
