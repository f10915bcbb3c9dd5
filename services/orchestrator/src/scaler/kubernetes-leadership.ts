import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { AgentConfig, ChorusConfig } from "@chorus/config";
import type { Logger } from "@chorus/shared";
import { CoordinationV1Api } from "@kubernetes/client-node";
import type { Pool } from "../executor/pool.js";
import { loadKubeConfig, resolveNamespace } from "../providers/kubernetes/client.js";
import { KubernetesProvider } from "../providers/kubernetes/k8s-provider.js";
import { LeaseElector } from "../providers/kubernetes/lease-elector.js";
import { LoadShare } from "./load-share.js";
import type { Scaler } from "./scaler.js";

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
          await share.close();
        },
      };
    },
  };
}
