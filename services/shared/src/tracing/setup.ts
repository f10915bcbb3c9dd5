import { context, type DiagLogger, DiagLogLevel, diag, propagation, trace } from "@opentelemetry/api";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { Logger } from "pino";

/** A process's tracing: on when the OTEL_* environment asks for an exporter, else the no-op API. */
export interface Tracing {
  /** True when spans are recorded and exported. */
  readonly enabled: boolean;
  /** Exports what is buffered and stops; bounded by `timeoutMs`. */
  shutdown(timeoutMs?: number): Promise<void>;
}

/** Who this process is, for the spans' resource; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win. */
export interface TracingIdentity {
  /** service.name, e.g. chorus-orchestrator. */
  readonly service: string;
  /** service.instance.id, e.g. an agent's replica id. */
  readonly instance?: string | undefined;
  /** More resource attributes (chorus.agent). */
  readonly attributes?: Readonly<Record<string, string>> | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

const OFF: Tracing = { enabled: false, shutdown: async () => {} };

let active = false;

/**
 * True once an SDK is registered (by startTracing, or a test's registerTracing): until then every
 * span helper returns at once, so tracing that is off costs one boolean test per span.
 */
export function tracingActive(): boolean {
  return active;
}

/** Registers `provider` globally (W3C propagation, AsyncLocalStorage context) and turns the span helpers on. */
export function registerTracing(provider: { register(): void }): void {
  provider.register();
  active = true;
}

/**
 * The exporter protocol OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL names:
 * grpc or http/protobuf (the specification's default); undefined when tracing is off. Tracing is
 * off unless OTEL_TRACES_EXPORTER is otlp or an OTLP endpoint is set, and always with
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none.
 */
export function tracingProtocol(env: Env = process.env): "grpc" | "http/protobuf" | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== "");
  if (exporters.includes("none")) return undefined;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!exporters.includes("otlp") && !endpoint) return undefined;
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || "").trim();
  return protocol === "grpc" ? "grpc" : "http/protobuf";
}

/** How often at most the SDK's complaints (a collector that is down fails every export) reach the log. */
const DIAG_LOG_INTERVAL_MS = 60_000;

/** The first line of what the SDK reports (it often passes a whole error serialized as JSON). */
function summary(message: string): string {
  let text = message;
  try {
    const parsed = JSON.parse(message) as { message?: unknown; stack?: unknown };
    text = String(parsed.message ?? parsed.stack ?? message);
  } catch {}
  const line = text.split("\n")[0] ?? text;
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

// The SDK's warnings and errors as log warnings: one line each, at most one a minute (with how
// many were held back), so an unreachable collector does not flood the log.
function diagLogger(log: Logger): DiagLogger {
  let lastMs = Number.NEGATIVE_INFINITY;
  let held = 0;
  const warn = (message: string) => {
    const now = Date.now();
    if (now - lastMs < DIAG_LOG_INTERVAL_MS) {
      held += 1;
      return;
    }
    lastMs = now;
    log.warn({ since: held }, `tracing: ${summary(message)}`);
    held = 0;
  };
  const quiet = () => {};
  return { error: warn, warn, info: quiet, debug: quiet, verbose: quiet };
}

async function exporterFor(protocol: "grpc" | "http/protobuf"): Promise<SpanExporter> {
  // Both read their endpoint, headers, timeout, compression and TLS files from OTEL_EXPORTER_OTLP_*.
  if (protocol === "grpc")
    return new (await import("@opentelemetry/exporter-trace-otlp-grpc")).OTLPTraceExporter();
  return new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter();
}

/**
 * Registers the OpenTelemetry SDK for this process when the OTEL_* environment asks for it: an
 * OTLP exporter behind a batch span processor (OTEL_BSP_*), the sampler of OTEL_TRACES_SAMPLER
 * (default parentbased_always_on), W3C trace context propagation. Otherwise registers nothing, so
 * every span is the API's no-op. The SDK is loaded only then, so a process without tracing never
 * holds it in memory. Exporter failures are logged as warnings, never thrown. `env` decides whether
 * and which protocol; the SDK and the exporters read every other OTEL_* setting from process.env.
 */
export async function startTracing(
  identity: TracingIdentity,
  log: Logger,
  env: Env = process.env,
): Promise<Tracing> {
  const protocol = tracingProtocol(env);
  if (!protocol) return OFF;
  const requested = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (requested && requested !== protocol)
    log.warn({ protocol: requested }, "OTLP protocol not supported; exporting with http/protobuf");
  diag.setLogger(diagLogger(log), DiagLogLevel.WARN);
  const [
    { detectResources, envDetector, resourceFromAttributes },
    { BatchSpanProcessor },
    { NodeTracerProvider },
    { ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME },
  ] = await Promise.all([
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/semantic-conventions"),
  ]);
  const own = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: identity.service,
    ...(identity.instance ? { [ATTR_SERVICE_INSTANCE_ID]: identity.instance } : {}),
    ...identity.attributes,
  });
  // The environment's attributes (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) override ours.
  const resource = own.merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(await exporterFor(protocol))],
  });
  registerTracing(provider);
  log.info({ protocol }, "tracing on: exporting spans over OTLP");
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown(timeoutMs = 5000) {
      stopped ??= new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        provider.shutdown().then(
          () => {
            clearTimeout(timer);
            resolve();
          },
          (err: unknown) => {
            clearTimeout(timer);
            log.warn({ err }, "tracing shutdown failed");
            resolve();
          },
        );
      }).finally(() => {
        active = false;
        trace.disable();
        context.disable();
        propagation.disable();
        diag.disable();
      });
      return stopped;
    },
  };
}
