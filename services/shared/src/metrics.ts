import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { HealthCheckResponse_ServingStatus as Serving } from "@chorus/proto";
import type { status } from "@grpc/grpc-js";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import type { RpcObserver } from "./grpc-bridge.js";
import type { HealthState } from "./health.js";

/** Latency buckets in seconds, from sub-millisecond orchestration to slow generations. */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** A service's Prometheus registry with the RPC metrics every service shares. */
export class Metrics {
  readonly registry = new Registry();
  private readonly rpcs: Counter<"method" | "code">;
  private readonly rpcSeconds: Histogram<"method">;

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.rpcs = new Counter({
      name: "chorus_rpc_total",
      help: "Finished RPCs by method and status code.",
      labelNames: ["method", "code"],
      registers: [this.registry],
    });
    this.rpcSeconds = new Histogram({
      name: "chorus_rpc_duration_seconds",
      help: "RPC handling time by method.",
      labelNames: ["method"],
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
  }

  /** An observer for the gRPC bridge that records every finished RPC. */
  readonly observeRpc: RpcObserver = (method: string, code: status, seconds: number) => {
    this.rpcs.inc({ method, code: String(code) });
    this.rpcSeconds.observe({ method }, seconds);
  };

  /**
   * Serves /metrics over HTTP, and /healthz from `health` when given (200 while the gRPC server is
   * SERVING, else 503: a plaintext probe for platforms whose gRPC probes cannot speak mTLS); port 0
   * picks a free port. Resolves to the bound port.
   */
  async listen(
    host: string,
    port: number,
    health?: HealthState,
  ): Promise<{ port: number; close(): Promise<void> }> {
    const server: Server = createServer((req, res) => {
      if (req.url === "/healthz" && health) {
        const serving = health.get("") === Serving.SERVING;
        res
          .writeHead(serving ? 200 : 503, { "content-type": "text/plain" })
          .end(serving ? "SERVING\n" : "NOT_SERVING\n");
        return;
      }
      if (req.url !== "/metrics") {
        res.writeHead(404).end(health ? "try /metrics or /healthz\n" : "try /metrics\n");
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": this.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    return {
      port: (server.address() as AddressInfo).port,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }
}
