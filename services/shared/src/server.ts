import type { DescService } from "@bufbuild/protobuf";
import { Health } from "@chorus/proto";
import { Server, ServerCredentials, type ServerInterceptor } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { implement, type ServiceHandlers, serviceDefinition } from "./grpc-bridge.js";
import { HealthState, healthHandlers } from "./health.js";
import type { Metrics } from "./metrics.js";
import { addReflection } from "./reflection.js";
import { type Gatekeeper, guardInterceptor } from "./security/guard.js";

/** One service and its handlers, ready to be served. */
export interface ServiceBinding {
  readonly service: DescService;
  readonly handlers: object;
}

/** Pairs a service descriptor with its typed handlers. */
export function bind<S extends DescService>(service: S, handlers: ServiceHandlers<S>): ServiceBinding {
  return { service, handlers };
}

/** What it takes to serve a set of services on one port. */
export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly services: readonly ServiceBinding[];
  readonly log: Logger;
  readonly metrics?: Metrics | undefined;
  /** Largest request message accepted, in bytes. */
  readonly maxReceiveBytes?: number | undefined;
  /** TLS (or mTLS) credentials; plaintext when absent. */
  readonly credentials?: ServerCredentials | undefined;
  /** Authenticates and authorizes every call but health checks; every caller is let in when absent. */
  readonly gatekeeper?: Gatekeeper | undefined;
}

/** A running gRPC server with health, reflection and graceful shutdown. */
export interface RunningServer {
  readonly port: number;
  readonly address: string;
  readonly health: HealthState;
  /** NOT_SERVING, then drain in-flight calls, then force-close after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

/** Starts a gRPC server for `services` plus grpc.health.v1 and reflection. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const interceptors: ServerInterceptor[] = options.gatekeeper
    ? [guardInterceptor(options.gatekeeper, options.log)]
    : [];
  const server = new Server({
    "grpc.max_receive_message_length": options.maxReceiveBytes ?? 4 * 1024 * 1024,
    "grpc.keepalive_permit_without_calls": 1,
    interceptors,
  });
  const health = new HealthState();
  const observe = options.metrics?.observeRpc;
  for (const { service, handlers } of options.services) {
    const implementation = implement(service, handlers as ServiceHandlers<DescService>, options.log, observe);
    server.addService(serviceDefinition(service), implementation);
  }
  server.addService(serviceDefinition(Health), implement(Health, healthHandlers(health), options.log));
  addReflection(
    server,
    options.services.map(({ service }) => service.typeName),
  );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${options.host}:${options.port}`,
      options.credentials ?? ServerCredentials.createInsecure(),
      (err, bound) => (err ? reject(err) : resolve(bound)),
    );
  });
  health.set("", true);
  for (const { service } of options.services) health.set(service.typeName, true);
  const address = `${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`;
  return {
    port,
    address,
    health,
    close: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        health.shutdown();
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
