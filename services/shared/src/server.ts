import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { GenService } from "@bufbuild/protobuf/codegenv2";
import { Health } from "@chorus/proto";
import { Server, ServerCredentials, type ServerInterceptor } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { implement, type ServiceHandlers, serviceDefinition } from "./grpc-bridge.js";
import { HealthState, healthHandlers } from "./health.js";
import type { Metrics } from "./metrics.js";
import { addReflection } from "./reflection.js";
import { type Gatekeeper, guardInterceptor } from "./security/guard.js";
import {
  DEFAULT_TRANSPORT_LIMITS,
  metadataLimitInterceptor,
  REQUEST_ENVELOPE_BYTES,
  type TransportLimitSettings,
  transportOptions,
} from "./transport-limits.js";

/** The largest request each method of `S` accepts, in bytes, by the method's local name. */
export type RequestBytes<S> = S extends GenService<infer Methods> ? { [K in keyof Methods]?: number } : never;

/** One service and its handlers, ready to be served. */
export interface ServiceBinding {
  readonly service: DescService;
  readonly handlers: object;
  /** Largest request per method (local name); a method not listed accepts REQUEST_ENVELOPE_BYTES. */
  readonly requestBytes?: Readonly<Record<string, number | undefined>> | undefined;
}

/** Pairs a service descriptor with its typed handlers and the request bounds of its large methods. */
export function bind<S extends DescService>(
  service: S,
  handlers: ServiceHandlers<S>,
  requestBytes?: RequestBytes<S>,
): ServiceBinding {
  return { service, handlers, requestBytes: requestBytes as ServiceBinding["requestBytes"] };
}

function boundOf(binding: ServiceBinding): (method: DescMethod) => number {
  return (method) => binding.requestBytes?.[method.localName] ?? REQUEST_ENVELOPE_BYTES;
}

/** What it takes to serve a set of services on one port. */
export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly services: readonly ServiceBinding[];
  readonly log: Logger;
  readonly metrics?: Metrics | undefined;
  /** Metadata size, streams and HTTP/2 memory per connection (the config's `limits`); defaults when absent. */
  readonly limits?: TransportLimitSettings | undefined;
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
  const limits = options.limits ?? DEFAULT_TRANSPORT_LIMITS;
  // Oversized metadata is refused first, before authentication reads it.
  const interceptors: ServerInterceptor[] = [metadataLimitInterceptor(limits.max_metadata_bytes)];
  if (options.gatekeeper) interceptors.push(guardInterceptor(options.gatekeeper, options.log));
  const largest = Math.max(
    REQUEST_ENVELOPE_BYTES,
    ...options.services.flatMap((binding) => binding.service.methods.map(boundOf(binding))),
  );
  const server = new Server({
    ...transportOptions(limits, largest),
    "grpc.keepalive_permit_without_calls": 1,
    interceptors,
  });
  const health = new HealthState();
  const observe = options.metrics?.observeRpc;
  for (const binding of options.services) {
    const { service, handlers } = binding;
    const implementation = implement(service, handlers as ServiceHandlers<DescService>, options.log, observe);
    server.addService(serviceDefinition(service, boundOf(binding)), implementation);
  }
  server.addService(
    serviceDefinition(Health, () => REQUEST_ENVELOPE_BYTES),
    implement(Health, healthHandlers(health), options.log),
  );
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
