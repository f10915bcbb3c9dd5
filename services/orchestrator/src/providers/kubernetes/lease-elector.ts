import type { Logger } from "@chorus/shared";
import { type CoordinationV1Api, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { apiStatus, describeApiError } from "./client.js";

/** How one orchestrator takes part in the election. */
export interface LeaseSettings {
  readonly namespace: string;
  readonly name: string;
  /** Unique per orchestrator process, e.g. `<pod name>_<random>`. */
  readonly identity: string;
  /** How long a lease not renewed stays valid for the others. */
  readonly durationSeconds: number;
  /** How long the leader keeps leading while its renewals fail. */
  readonly renewDeadlineSeconds: number;
  /** Time between attempts to acquire or renew. */
  readonly retryPeriodSeconds: number;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: the holder renews
 * every retry period; the others take the lease once its record has not changed for the lease
 * duration (timed with their own clock, so clocks need not agree); a leader that cannot renew
 * within the renew deadline steps down; closing releases the lease so another takes over at once.
 */
export class LeaseElector {
  private leadingNow = false;
  private holderNow = "";
  private observedVersion = "";
  private observedAt = 0;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly listeners: Array<(leading: boolean) => void> = [];

  constructor(
    private readonly api: CoordinationV1Api,
    private readonly settings: LeaseSettings,
    private readonly log: Logger,
  ) {}

  /** True while this orchestrator holds the lease. */
  get leading(): boolean {
    return this.leadingNow;
  }

  /** The identity of the last holder seen ("" when none). */
  get holder(): string {
    return this.holderNow;
  }

  /** Calls `listener` with every change of leadership. */
  onChange(listener: (leading: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Starts trying to acquire the lease, now and every retry period. */
  start(): void {
    void this.tick();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.attempt();
    } catch (err) {
      this.log.warn({ lease: this.settings.name, err: describeApiError(err) }, "lease update failed");
    }
    const nowMs = Date.now();
    if (this.leadingNow && nowMs - this.lastRenew > this.settings.renewDeadlineSeconds * 1000) {
      this.setLeading(false, "could not renew the lease within the renew deadline; stepping down");
    }
    if (!this.stopped)
      this.timer = setTimeout(() => void this.tick(), this.settings.retryPeriodSeconds * 1000);
  }

  private async attempt(): Promise<void> {
    const { namespace, name, identity } = this.settings;
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (apiStatus(err) !== 404) throw err;
      await this.create();
      return;
    }
    const version = lease.metadata?.resourceVersion ?? "";
    if (version !== this.observedVersion) {
      this.observedVersion = version;
      this.observedAt = Date.now();
    }
    const holder = lease.spec?.holderIdentity ?? "";
    if (holder !== this.holderNow && holder !== identity && holder !== "")
      this.log.info({ lease: name, holder }, "follower: another orchestrator leads and scales the pools");
    this.holderNow = holder;
    const duration = (lease.spec?.leaseDurationSeconds ?? this.settings.durationSeconds) * 1000;
    const heldByOther = holder !== "" && holder !== identity && Date.now() < this.observedAt + duration;
    if (heldByOther) {
      this.setLeading(false, `lost the lease to ${holder}; now a follower`);
      return;
    }
    const now = new V1MicroTime();
    const transitions = lease.spec?.leaseTransitions ?? 0;
    const updated = await this.api.replaceNamespacedLease({
      name,
      namespace,
      body: {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: identity,
          leaseDurationSeconds: this.settings.durationSeconds,
          renewTime: now,
          acquireTime: holder === identity ? lease.spec?.acquireTime : now,
          leaseTransitions: holder === identity || holder === "" ? transitions : transitions + 1,
        },
      },
    });
    this.renewed(updated);
  }

  private async create(): Promise<void> {
    const { namespace, name, identity, durationSeconds } = this.settings;
    const now = new V1MicroTime();
    try {
      const created = await this.api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        },
      });
      this.renewed(created);
    } catch (err) {
      // Another orchestrator created it first; the next attempt reads it.
      if (apiStatus(err) !== 409) throw err;
    }
  }

  private renewed(lease: V1Lease): void {
    if (this.stopped) return;
    this.observedVersion = lease.metadata?.resourceVersion ?? "";
    this.observedAt = Date.now();
    this.lastRenew = this.observedAt;
    this.holderNow = this.settings.identity;
    this.setLeading(true, "became the leader: this orchestrator scales the pools");
  }

  private setLeading(leading: boolean, why: string): void {
    if (leading === this.leadingNow) return;
    this.leadingNow = leading;
    const { name, identity } = this.settings;
    if (leading) this.log.info({ lease: name, identity }, why);
    else this.log.warn({ lease: name, identity }, why);
    for (const listener of this.listeners) listener(leading);
  }

  /** Stops the election; `release` hands the lease back so another orchestrator leads at once. */
  async close(release = true): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const wasLeading = this.leadingNow;
    this.setLeading(false, "stopped leading: shutting down");
    if (!release || !wasLeading) return;
    const { namespace, name, identity } = this.settings;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 } },
      });
      this.log.info({ lease: name }, "released the lease");
    } catch (err) {
      this.log.warn({ lease: name, err: describeApiError(err) }, "could not release the lease");
    }
  }
}
