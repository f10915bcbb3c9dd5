import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { createLogger } from "@chorus/shared";
import { CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { loadKubeConfig, resolveNamespace, Watcher } from "./client.js";

const pod = (name: string, resourceVersion: string) => ({
  metadata: { name, namespace: "ns", resourceVersion },
});

/**
 * Answers the pod list and watch requests of one informer: the first watch fails with HTTP 500,
 * the second streams one added pod and stays open.
 */
function podEndpoint(seen: string[]) {
  let watches = 0;
  const open: ServerResponse[] = [];
  return {
    open,
    handle(req: IncomingMessage, res: ServerResponse) {
      const url = new URL(req.url ?? "/", "http://stub");
      seen.push(
        `${url.searchParams.get("watch") ? "watch" : "list"} rv=${url.searchParams.get("resourceVersion") ?? ""}`,
      );
      if (!url.searchParams.get("watch")) {
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({ kind: "PodList", metadata: { resourceVersion: "1" }, items: [pod("a", "1")] }),
        );
        return;
      }
      watches += 1;
      if (watches === 1) {
        res.statusCode = 500;
        res.end("{}");
        return;
      }
      res.setHeader("content-type", "application/json");
      res.write(`${JSON.stringify({ type: "ADDED", object: pod("b", "2") })}\n`);
      open.push(res);
    },
  };
}

describe("Watcher", () => {
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  it("restarts its informer after a watch error and resumes from the last resourceVersion", async () => {
    const seen: string[] = [];
    const endpoint = podEndpoint(seen);
    const server = createServer((req, res) => endpoint.handle(req, res));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: "stub",
          server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          skipTLSVerify: true,
        },
      ],
      users: [{ name: "u" }],
      contexts: [{ name: "c", cluster: "stub", user: "u" }],
      currentContext: "c",
    });
    const core = kc.makeApiClient(CoreV1Api);
    const names: string[] = [];
    const watcher = new Watcher<V1Pod>(
      kc,
      "/api/v1/namespaces/ns/pods",
      () => core.listNamespacedPod({ namespace: "ns" }),
      "app=x",
      { changed: (p) => names.push(p.metadata?.name ?? ""), deleted: () => {} },
      "pods",
      createLogger("watcher-test", "silent"),
    );
    await watcher.start();
    for (let i = 0; i < 50 && !names.includes("b"); i += 1) await delay(100);
    await watcher.stop();
    for (const res of endpoint.open) res.end();
    assert.deepEqual(names, ["a", "b"]);
    assert.deepEqual(seen, ["list rv=", "watch rv=1", "watch rv=1"]);
  });
});

describe("loadKubeConfig and resolveNamespace", () => {
  it("prefers the configured namespace, then the pod's, then the kubeconfig context's", () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "k", server: "https://127.0.0.1:1" }],
      users: [{ name: "u" }],
      contexts: [{ name: "c", cluster: "k", user: "u", namespace: "from-context" }],
      currentContext: "c",
    });
    const none = "/nonexistent/namespace";
    assert.equal(resolveNamespace("set", kc, { POD_NAMESPACE: "pod" }, none), "set");
    assert.equal(resolveNamespace("", kc, { POD_NAMESPACE: "pod" }, none), "pod");
    assert.equal(resolveNamespace("", kc, {}, none), "from-context");
  });

  it("names the file when a given kubeconfig cannot be read", () => {
    assert.throws(() => loadKubeConfig("/nonexistent/kubeconfig"), /\/nonexistent\/kubeconfig/);
  });
});
