import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { AgentConfig, ChorusConfig } from "@chorus/config";
import type { Logger } from "@chorus/shared";
import { CoordinationV1Api } from "@kubernetes/client-node";
import type { Pool } from "../executor/pool.js";
import { loadKubeConfig, resolveNamespace } from "../providers/kubernetes/client.js";
import { KubernetesProvider, poolObjectName } from "../providers/kubernetes/k8s-provider.js";
import { LeaseElector } from "../providers/kubernetes/lease-elector.js";
import { LoadShare } from "./load-share.js";
import type { Scaler } from "./scaler.js";
import { type EventMirrorOptions, ScalingEventMirror } from "./scaling-event-mirror.js";
import { kubeEventApi, ScalingEventWriter } from "./scaling-event-writer.js";

/** Who changes the pools: this orchestrator or another one; shown as GetStatus component "scaler". */
export interface Leadership {
  status(): { healthy: boolean; detail: string };
  close(): Promise<void>;
}

/** A Kubernetes provider with what the election needs. */
export interface KubernetesSetup {
  readonly provider: KubernetesProvider;
  start(scaler: Scaler, pools: ReadonlyMap<string, Pool>): Promise<Leadership>;
}

/**
 * Builds the Kubernetes provider from `provider.kubernetes` (credentials, namespace, object
 * names). `start` lists and watches the pools, shares the load each orchestrator routes, then runs
 * the Lease election: the scaler runs its strategy loops only while this orchestrator leads; every
 * orchestrator routes.
 */
export function kubernetesSetup(
  config: ChorusConfig,
  agents: readonly AgentConfig[],
  log: Logger,
): KubernetesSetup {
  const settings = config.provider.kubernetes;
  const kc = loadKubeConfig(settings.kubeconfig);
  const namespace = resolveNamespace(settings.namespace, kc);
  // The pod name plus a random part: a restarted orchestrator is a new candidate.
  const identity = `${process.env.POD_NAME || hostname()}_${randomBytes(4).toString("hex")}`;
  const provider = new KubernetesProvider({ kc, namespace, settings, agents, identity, log });
  return {
    provider,
    async start(scaler, pools) {
      await provider.start();
      const podName = process.env.POD_NAME || undefined;
      const reportMs = settings.load_report_ms;
      const share = new LoadShare({ kc, namespace, podName, pools, reportMs, log });
      try {
        await share.start();
      } catch (err) {
        await provider.close();
        throw new Error(`kubernetes provider: cannot share load: ${(err as Error).message}`);
      }
      const poolOfDeployment = new Map(
        agents.map((agent) => [poolObjectName(settings.deployment_template, agent.name), agent.name]),
      );
      const explain = await explainScaling(
        { kc, namespace, identity, poolOfDeployment, log },
        provider,
        scaler,
      );
      const elector = new LeaseElector(
        kc.makeApiClient(CoordinationV1Api),
        {
          namespace,
          name: settings.lease_name,
          identity,
          durationSeconds: settings.lease_duration_seconds,
          renewDeadlineSeconds: settings.renew_deadline_seconds,
          retryPeriodSeconds: settings.retry_period_seconds,
        },
        log,
      );
      elector.onChange((leading) => {
        // The provider learns first, so the scaler's first poll sees the pools as the leader does.
        if (leading) {
          provider.lead(true);
          scaler.start();
        } else {
          scaler.pause();
          provider.lead(false);
        }
      });
      elector.start();
      const lease = `lease ${namespace}/${settings.lease_name}`;
      log.info({ namespace, identity, lease: settings.lease_name }, "kubernetes provider watching the pools");
      return {
        status: () => ({
          healthy: true,
          detail: elector.leading
            ? `leader (${identity}, ${lease})`
            : `follower (leader: ${elector.holder || "none yet"}, ${lease})`,
        }),
        close: async () => {
          await elector.close();
          await explain.close();
          await share.close();
        },
      };
    },
  };
}

/**
 * Writes this orchestrator's scaling decisions, while it leads, as Events on the pools'
 * Deployments, and mirrors the Events other orchestrators wrote into its own ScalingEvents. Without
 * the rights to watch Events (an older Role) a replica still routes and scales; its WatchScaling
 * then shows only its own events, which the error says.
 */
async function explainScaling(
  where: Omit<EventMirrorOptions, "events">,
  provider: KubernetesProvider,
  scaler: Scaler,
): Promise<{ close(): Promise<void> }> {
  const { kc, namespace, identity, log } = where;
  const { events } = scaler;
  const mirror = new ScalingEventMirror({ ...where, events });
  try {
    await mirror.start();
  } catch (err) {
    log.error(
      { err: (err as Error).message },
      "cannot watch scaling Events: WatchScaling on this replica shows only its own scaling events",
    );
  }
  const writer = new ScalingEventWriter({
    api: kubeEventApi(kc, namespace),
    namespace,
    identity,
    deploymentOf: (pool) => provider.deploymentOf(pool),
    log,
  });
  // Only the leader's decisions are written; an event the mirror brought in was written already.
  const stop = events.subscribe((event) => {
    if (scaler.pool(event.pool)?.leading && !mirror.mirrored(event)) writer.record(event);
  });
  return {
    close: async () => {
      stop();
      await writer.close();
      await mirror.close();
    },
  };
}
