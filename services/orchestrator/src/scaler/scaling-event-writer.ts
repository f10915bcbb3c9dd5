import type { Logger } from "@chorus/shared";
import { CoreV1Api, type CoreV1Event, type KubeConfig } from "@kubernetes/client-node";
import { apiStatus, describeApiError, MERGE_PATCH } from "../providers/kubernetes/client.js";
import type { ScalingEvent } from "./scaling-events.js";
import {
  CARRIED_ANNOTATION,
  type CarriedEvent,
  encodeCarried,
  eventMessage,
  eventReason,
  eventType,
  REPORTING_CONTROLLER,
  SCALING_EVENT_LABEL,
} from "./scaling-kube-event.js";

/** The Event calls the writer makes (CoreV1Api in production, a small fake in unit tests). */
export interface EventApi {
  create(event: CoreV1Event): Promise<unknown>;
  /** A JSON merge patch of the named Event. */
  patch(name: string, patch: object): Promise<unknown>;
}

/** The Event calls on a real API server, in one namespace. */
export function kubeEventApi(kc: KubeConfig, namespace: string): EventApi {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    create: (body) => core.createNamespacedEvent({ namespace, body }),
    patch: (name, body) => core.patchNamespacedEvent({ name, namespace, body }, MERGE_PATCH),
  };
}

/** A pool's Deployment as last watched: the Event's involvedObject (kubectl describe matches the uid). */
export interface DeploymentRef {
  readonly name: string;
  readonly uid: string;
}

/** What the writer needs. */
export interface EventWriterOptions {
  readonly api: EventApi;
  readonly namespace: string;
  /** The leader's identity (its Lease holderIdentity), written as reportingInstance. */
  readonly identity: string;
  readonly deploymentOf: (pool: string) => DeploymentRef | undefined;
  readonly log: Logger;
  /** Least time between two rounds of writes for one pool. */
  readonly intervalMs?: number;
  /** Milliseconds since the epoch; tests move it forward. */
  readonly clock?: () => number;
}

const WRITE_INTERVAL_MS = 2000;
/** Event writes (creates or patches) per pool per round; the rest wait for the next round. */
const MAX_WRITES_PER_ROUND = 4;
/** Scaling events one pool may have waiting; beyond it the oldest are dropped (and logged). */
const MAX_WAITING = 64;
/** Scaling events one Event carries for followers: the latest of its repeats. */
const CARRIED_PER_EVENT = 16;
/** Event objects remembered for aggregation, least recently written dropped first. */
const MAX_AGGREGATES = 256;
const CLOSE_WAIT_MS = 2000;

/** One Event object this writer made, and what it holds. */
interface Aggregate {
  readonly name: string;
  readonly uid: string;
  readonly count: number;
  readonly carried: CarriedEvent[];
}

interface PoolQueue {
  waiting: CarriedEvent[];
  lastRoundMs: number;
  timer: NodeJS.Timeout | undefined;
  round: Promise<void> | undefined;
}

/** A repeat is the same change of the same pool: reason, blocks before and after. */
const repeatKey = (e: ScalingEvent) =>
  `${e.pool}\u0000${e.reason}\u0000${e.blocksBefore}\u0000${e.blocksAfter}`;

/**
 * Writes the leader's scaling decisions as core/v1 Events on each pool's Deployment, as the
 * HorizontalPodAutoscaler's recorder does. The rate is bounded per pool: at most 4 writes per round
 * and one round per 2 s (a lone event goes out at once), and a repeat of the same change is
 * aggregated into its Event (count and lastTimestamp, as kubectl's correlator does), so a flapping
 * pool patches two Events instead of creating one per flap.
 */
export class ScalingEventWriter {
  private readonly queues = new Map<string, PoolQueue>();
  private readonly aggregates = new Map<string, Aggregate>();
  private sequence = 0;
  private failing = false;
  private closed = false;

  constructor(private readonly options: EventWriterOptions) {}

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }

  /** Queues one decision of this (leading) orchestrator; returns the id followers will know it by. */
  record(event: ScalingEvent): string {
    const id = `${this.options.identity}#${++this.sequence}`;
    if (this.closed) return id;
    const queue = this.queueOf(event.pool);
    queue.waiting.push({ ...event, id });
    if (queue.waiting.length > MAX_WAITING) {
      const dropped = queue.waiting.splice(0, queue.waiting.length - MAX_WAITING);
      this.options.log.warn(
        { pool: event.pool, dropped: dropped.length },
        "scaling Events: too many waiting",
      );
    }
    this.schedule(queue);
    return id;
  }

  private queueOf(pool: string): PoolQueue {
    let queue = this.queues.get(pool);
    if (!queue) {
      queue = { waiting: [], lastRoundMs: Number.NEGATIVE_INFINITY, timer: undefined, round: undefined };
      this.queues.set(pool, queue);
    }
    return queue;
  }

  private schedule(queue: PoolQueue): void {
    if (queue.timer || queue.round || queue.waiting.length === 0 || this.closed) return;
    const interval = this.options.intervalMs ?? WRITE_INTERVAL_MS;
    const wait = Math.max(0, queue.lastRoundMs + interval - this.now());
    queue.timer = setTimeout(() => {
      queue.timer = undefined;
      queue.round = this.round(queue).finally(() => {
        queue.round = undefined;
        this.schedule(queue);
      });
    }, wait);
  }

  /** One round: the waiting events grouped by repeat, at most MAX_WRITES_PER_ROUND groups written. */
  private async round(queue: PoolQueue): Promise<void> {
    queue.lastRoundMs = this.now();
    const groups = new Map<string, CarriedEvent[]>();
    for (const event of queue.waiting) {
      const key = repeatKey(event);
      if (!groups.has(key) && groups.size >= MAX_WRITES_PER_ROUND) continue;
      groups.set(key, [...(groups.get(key) ?? []), event]);
    }
    const taken = new Set([...groups.values()].flat());
    queue.waiting = queue.waiting.filter((event) => !taken.has(event));
    for (const [key, events] of groups) await this.write(key, events);
  }

  private async write(key: string, events: CarriedEvent[]): Promise<void> {
    const latest = events.at(-1);
    if (!latest) return;
    const deployment = this.options.deploymentOf(latest.pool);
    if (!deployment) {
      this.options.log.warn({ pool: latest.pool }, "scaling Events: the pool has no Deployment to explain");
      return;
    }
    const known = this.aggregates.get(key);
    this.aggregates.delete(key);
    try {
      const aggregate =
        known?.uid === deployment.uid
          ? await this.patch(known, deployment, events)
          : await this.create(deployment, events);
      this.aggregates.set(key, aggregate);
      if (this.aggregates.size > MAX_AGGREGATES)
        this.aggregates.delete(this.aggregates.keys().next().value ?? "");
      if (this.failing) this.options.log.info("writing scaling Events works again");
      this.failing = false;
    } catch (err) {
      if (!this.failing)
        this.options.log.warn(
          { err: describeApiError(err), pool: latest.pool },
          "cannot write a scaling Event",
        );
      this.failing = true;
    }
  }

  /** Adds `events` to an Event that holds their repeats: count, lastTimestamp, message, carried events. */
  private async patch(
    known: Aggregate,
    deployment: DeploymentRef,
    events: CarriedEvent[],
  ): Promise<Aggregate> {
    const latest = events.at(-1);
    if (!latest) return known;
    const aggregate = {
      ...known,
      count: known.count + events.length,
      carried: [...known.carried, ...events].slice(-CARRIED_PER_EVENT),
    };
    try {
      await this.options.api.patch(aggregate.name, {
        metadata: { annotations: { [CARRIED_ANNOTATION]: encodeCarried(aggregate.carried) } },
        count: aggregate.count,
        lastTimestamp: new Date(latest.timeMs).toISOString(),
        message: eventMessage(latest),
        reportingInstance: this.options.identity,
      });
      return aggregate;
    } catch (err) {
      // The Event expired (the apiserver's --event-ttl) or was deleted: these events start a new one.
      if (apiStatus(err) !== 404) throw err;
      return this.create(deployment, events);
    }
  }

  private async create(deployment: DeploymentRef, events: CarriedEvent[]): Promise<Aggregate> {
    const { namespace, identity } = this.options;
    const first = events[0];
    const latest = events.at(-1);
    if (!first || !latest) throw new Error("no scaling event to write");
    const carried = events.slice(-CARRIED_PER_EVENT);
    const name = eventName(deployment.name, latest.timeMs);
    await this.options.api.create({
      metadata: {
        name,
        namespace,
        labels: { [SCALING_EVENT_LABEL]: latest.pool },
        annotations: { [CARRIED_ANNOTATION]: encodeCarried(carried) },
      },
      involvedObject: { apiVersion: "apps/v1", kind: "Deployment", namespace, ...deployment },
      reason: eventReason(latest.reason),
      message: eventMessage(latest),
      type: eventType(latest.reason),
      action: "Scale",
      source: { component: REPORTING_CONTROLLER },
      reportingComponent: REPORTING_CONTROLLER,
      reportingInstance: identity,
      firstTimestamp: new Date(first.timeMs),
      lastTimestamp: new Date(latest.timeMs),
      count: events.length,
    });
    return { name, uid: deployment.uid, count: events.length, carried };
  }

  /** Writes what waits (within a bounded time), then stops. */
  async close(): Promise<void> {
    if (this.closed) return;
    const rounds = [...this.queues.values()].map(async (queue) => {
      clearTimeout(queue.timer);
      queue.timer = undefined;
      await queue.round;
      if (queue.waiting.length > 0) await this.round(queue);
    });
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_WAIT_MS);
    });
    await Promise.race([Promise.all(rounds), limit]);
    clearTimeout(timer);
  }
}

/** An Event name as client-go makes them: the object's name and a hex time, here with a random tail. */
function eventName(deployment: string, timeMs: number): string {
  const tail = Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, "0");
  return `${deployment}.${timeMs.toString(16)}${tail}`;
}
