import { existsSync, readFileSync } from "node:fs";
import type { Logger } from "@chorus/shared";
import {
  ApiException,
  type Informer,
  KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";

/** Where the service account's namespace is mounted in a pod. */
export const SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** Request options that send a JSON Patch (the scale subresource). */
export const JSON_PATCH = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
/** Request options that send a JSON merge patch (pod annotations). */
export const MERGE_PATCH = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
/** The field manager Chorus writes as, so `kubectl get -o yaml --show-managed-fields` names it. */
export const FIELD_MANAGER = "chorus-orchestrator";

/**
 * Loads cluster credentials: the given kubeconfig file; else $KUBECONFIG; else in-cluster
 * credentials when running in a pod; else the default kubeconfig.
 */
export function loadKubeConfig(kubeconfig: string, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else if (!env.KUBECONFIG && env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

/**
 * The namespace Chorus works in: the configured one; else the pod's own (service account mount or
 * $POD_NAMESPACE); else the kubeconfig context's; else "default".
 */
export function resolveNamespace(
  configured: string,
  kc: KubeConfig,
  env: NodeJS.ProcessEnv = process.env,
  mountPath = SERVICE_ACCOUNT_NAMESPACE,
): string {
  if (configured) return configured;
  if (existsSync(mountPath)) {
    const own = readFileSync(mountPath, "utf8").trim();
    if (own) return own;
  }
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  return kc.getContextObject(kc.getCurrentContext())?.namespace || "default";
}

/** A short description of a Kubernetes API error: HTTP code and the Status message. */
export function describeApiError(err: unknown): string {
  if (err instanceof ApiException) {
    let message = "";
    try {
      message = (JSON.parse(String(err.body)) as { message?: string }).message ?? "";
    } catch {
      message = String(err.body).slice(0, 200);
    }
    return `HTTP ${err.code}${message ? `: ${message}` : ""}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** The HTTP status of a Kubernetes API error, if it is one. */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** What a watched resource reports: every add or change, and every deletion. */
export interface WatchHandlers<T> {
  changed(object: T): void;
  deleted(object: T): void;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * An informer (list, then watch) that restarts itself after an error with a capped back-off; a
 * handler that throws is logged instead of being swallowed by the watch's line reader.
 */
export class Watcher<T extends KubernetesObject> {
  private readonly informer: Informer<T> & ObjectCache<T>;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs = 500;
  private stopped = false;
  private failure: unknown;
  private listed = false;

  constructor(
    kc: KubeConfig,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    labelSelector: string,
    handlers: WatchHandlers<T>,
    private readonly what: string,
    private readonly log: Logger,
  ) {
    const listOnce = async () => {
      const result = await list();
      this.listed = true;
      return result;
    };
    this.informer = makeInformer(kc, path, listOnce, labelSelector);
    const guard = (handler: (object: T) => void) => (object: T) => {
      try {
        handler(object);
      } catch (err) {
        log.error({ err, what }, "handling a watch event failed");
      }
    };
    this.informer.on(
      "add",
      guard((object) => handlers.changed(object)),
    );
    this.informer.on(
      "update",
      guard((object) => handlers.changed(object)),
    );
    this.informer.on(
      "delete",
      guard((object) => handlers.deleted(object)),
    );
    this.informer.on("connect", () => {
      this.backoffMs = 500;
    });
    this.informer.on("error", (err: unknown) => this.restart(err));
  }

  /** Lists and starts watching; rejects when the first list fails (bad credentials, RBAC). */
  async start(): Promise<void> {
    this.failure = undefined;
    await this.informer.start();
    // A failed first watch is retried like any later one; a failed first list means no access.
    if (!this.listed) {
      const err = this.failure;
      await this.stop();
      throw new Error(`cannot list ${this.what}: ${describeApiError(err)}`);
    }
  }

  private restart(err: unknown): void {
    this.failure = err;
    if (this.stopped || !this.listed) return;
    this.log.warn(
      { what: this.what, err: describeApiError(err), retryMs: this.backoffMs },
      "watch failed; restarting",
    );
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      this.failure = undefined;
      this.informer.start().catch((startErr: unknown) => this.restart(startErr));
    }, this.backoffMs);
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
  }

  /** The cached objects. */
  list(): readonly T[] {
    return this.informer.list();
  }

  /** Stops watching for good. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.informer.stop();
  }
}
