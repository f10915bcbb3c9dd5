import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, writeFileSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { freePort } from "./free-port.js";

/** The collector release tools/testenv/build-otelcol.sh pins; its cache dir is named after it (a test checks). */
export const OTELCOL_VERSION = "0.161.0";
/** The binary build-otelcol.sh builds. */
export const OTELCOL_BINARY = "otelcol-chorus";
/** The command that builds it, for error messages. */
export const OTELCOL_BUILD_COMMAND = "bash tools/testenv/build-otelcol.sh";

/** The versioned cache bin dir, `${CHORUS_CACHE:-/var/cache/chorus/v1}/otelcol-<version>/bin`. */
export function otelcolBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.CHORUS_CACHE || "/var/cache/chorus/v1", `otelcol-${OTELCOL_VERSION}`, "bin");
}

/** An attribute value as OTLP JSON carries it, made plain (int64 beyond 2^53 stays a string). */
export type AttributeValue =
  | string
  | number
  | boolean
  | null
  | AttributeValue[]
  | { [key: string]: AttributeValue };

/** One span the collector received, flattened out of its resource and scope. */
export interface CollectedSpan {
  /** The resource's service.name ("" when it has none). */
  serviceName: string;
  /** Every resource attribute (service.name included). */
  resource: Record<string, AttributeValue>;
  /** The instrumentation scope's name. */
  scope: string;
  /** Lower-case hex, 32 digits. */
  traceId: string;
  /** Lower-case hex, 16 digits. */
  spanId: string;
  /** Lower-case hex, 16 digits; "" for a root span. */
  parentSpanId: string;
  name: string;
  kind: "unspecified" | "internal" | "server" | "client" | "producer" | "consumer";
  attributes: Record<string, AttributeValue>;
  status: { code: "unset" | "ok" | "error"; message: string };
  events: { name: string; attributes: Record<string, AttributeValue> }[];
  /** Nanoseconds since the epoch as exact decimal strings (compare with BigInt()). */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  /** end − start in nanoseconds. */
  durationNs: number;
}

/** A running OpenTelemetry Collector for tests: OTLP in, JSON lines on disk out. */
export interface OtelCollector {
  /** "http://127.0.0.1:<port>" for OTEL_EXPORTER_OTLP_ENDPOINT with the grpc protocol. */
  readonly grpcEndpoint: string;
  /** "http://127.0.0.1:<port>" for http/protobuf (and http/json); traces go to `${httpEndpoint}/v1/traces`. */
  readonly httpEndpoint: string;
  /** The dir holding the config, the collector's own log (collector.log) and its output (out/). */
  readonly dir: string;
  /** The collector process's PID. */
  readonly pid: number | undefined;
  /** Every span received so far, flattened, in the order the collector wrote them. */
  spans(): Promise<CollectedSpan[]>;
  /** Polls spans() until `predicate` holds or timeoutMs passes (then throws with what was seen). */
  waitForSpans(predicate: (spans: CollectedSpan[]) => boolean, timeoutMs: number): Promise<CollectedSpan[]>;
  /** Stops the collector by PID (SIGTERM, SIGKILL after 5 s); removes the dir unless it was given. */
  stop(): Promise<void>;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The collector binary: $CHORUS_OTELCOL, else otelcol-chorus on PATH, else the cache; throws naming the build command. */
export function requireOtelcol(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CHORUS_OTELCOL) {
    if (executable(env.CHORUS_OTELCOL)) return env.CHORUS_OTELCOL;
    throw new Error(`otel-collector: $CHORUS_OTELCOL=${env.CHORUS_OTELCOL} is not an executable file`);
  }
  const dirs = [...(env.PATH ?? "").split(delimiter).filter(Boolean), otelcolBinDir(env)];
  const found = dirs.map((dir) => join(dir, OTELCOL_BINARY)).find(executable);
  if (found) return found;
  throw new Error(
    `otel-collector: ${OTELCOL_BINARY} not found on PATH nor in ${otelcolBinDir(env)}; ` +
      `build it with \`${OTELCOL_BUILD_COMMAND}\` (npm test does it; cold: about 3 minutes on 2 cores, then cached)`,
  );
}

/** The collector config: OTLP gRPC and HTTP on loopback → the file exporter (unbuffered) and debug. */
function collectorConfig(ports: { grpc: number; http: number; health: number }, outFile: string): object {
  const exporters = ["file", "debug"];
  return {
    receivers: {
      otlp: {
        protocols: {
          grpc: { endpoint: `127.0.0.1:${ports.grpc}` },
          http: { endpoint: `127.0.0.1:${ports.http}` },
        },
      },
    },
    exporters: {
      // With rotation the file exporter writes each batch straight to the file (no buffer to
      // flush); 1 GiB before a rotation is more than any test sends.
      file: { path: outFile, format: "json", rotation: { max_megabytes: 1024, max_backups: 1 } },
      debug: { verbosity: "basic" },
    },
    extensions: { health_check: { endpoint: `127.0.0.1:${ports.health}` } },
    service: {
      extensions: ["health_check"],
      // The collector's own metrics would listen on :8888: off, so parallel collectors never clash.
      telemetry: { logs: { level: "info" }, metrics: { level: "none" } },
      pipelines: {
        traces: { receivers: ["otlp"], exporters },
        metrics: { receivers: ["otlp"], exporters },
        logs: { receivers: ["otlp"], exporters },
      },
    },
  };
}

async function healthy(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.trimEnd().split("\n").slice(-20).join("\n");
}

interface Launched {
  child: ChildProcess;
  grpc: number;
  http: number;
}

/** Spawns the collector on fresh ports and waits (at most 30 s) for its health check to answer 200. */
async function launch(bin: string, dir: string, outFile: string): Promise<Launched> {
  const ports = { grpc: await freePort(), http: await freePort(), health: await freePort() };
  const configFile = join(dir, "config.yaml");
  writeFileSync(configFile, `${JSON.stringify(collectorConfig(ports, outFile), null, 2)}\n`);
  const logFile = join(dir, "collector.log");
  const log = openSync(logFile, "a");
  const child = spawn(bin, ["--config", `file:${configFile}`], { stdio: ["ignore", log, log] });
  closeSync(log);
  child.on("error", () => {});
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `otel-collector: ${bin} exited (${child.exitCode ?? child.signalCode}) while starting; ` +
          `${logFile} ends:\n${await logTail(logFile)}`,
      );
    }
    if (await healthy(ports.health)) return { child, grpc: ports.grpc, http: ports.http };
    await Promise.race([delay(100), exited]);
  }
  child.kill("SIGKILL");
  await exited;
  throw new Error(`otel-collector: not healthy within 30 s; ${logFile} ends:\n${await logTail(logFile)}`);
}

interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
}
interface OtlpSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: OtlpKeyValue[];
  events?: { name?: string; attributes?: OtlpKeyValue[] }[];
  status?: { code?: number; message?: string };
}
interface OtlpTraces {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[];
  }[];
}

const KINDS: CollectedSpan["kind"][] = [
  "unspecified",
  "internal",
  "server",
  "client",
  "producer",
  "consumer",
];
const STATUS: CollectedSpan["status"]["code"][] = ["unset", "ok", "error"];

function plainValue(value: OtlpAnyValue | undefined): AttributeValue {
  if (!value) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) {
    const n = Number(value.intValue);
    return Number.isSafeInteger(n) ? n : String(value.intValue);
  }
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.bytesValue !== undefined) return value.bytesValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plainValue);
  if (value.kvlistValue) return plainAttributes(value.kvlistValue.values);
  return null;
}

function plainAttributes(list: OtlpKeyValue[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const { key, value } of list ?? []) out[key] = plainValue(value);
  return out;
}

/** Flattens one OTLP JSON ExportTraceServiceRequest line; lines of metrics or logs give none. */
export function flattenTraces(request: OtlpTraces): CollectedSpan[] {
  const spans: CollectedSpan[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const resource = plainAttributes(resourceSpans.resource?.attributes);
    const serviceName = typeof resource["service.name"] === "string" ? resource["service.name"] : "";
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        const start = span.startTimeUnixNano ?? "0";
        const end = span.endTimeUnixNano ?? "0";
        spans.push({
          serviceName,
          resource,
          scope: scopeSpans.scope?.name ?? "",
          traceId: (span.traceId ?? "").toLowerCase(),
          spanId: (span.spanId ?? "").toLowerCase(),
          parentSpanId: (span.parentSpanId ?? "").toLowerCase(),
          name: span.name ?? "",
          kind: KINDS[span.kind ?? 0] ?? "unspecified",
          attributes: plainAttributes(span.attributes),
          status: { code: STATUS[span.status?.code ?? 0] ?? "unset", message: span.status?.message ?? "" },
          events: (span.events ?? []).map((event) => ({
            name: event.name ?? "",
            attributes: plainAttributes(event.attributes),
          })),
          startTimeUnixNano: start,
          endTimeUnixNano: end,
          durationNs: Number(BigInt(end) - BigInt(start)),
        });
      }
    }
  }
  return spans;
}

/** Every complete line of every file in `outDir` (a rotated backup sorts before the live file's name). */
async function readLines(outDir: string): Promise<string[]> {
  const names = (await readdir(outDir).catch(() => [] as string[])).sort();
  const lines: string[] = [];
  for (const name of names) {
    const text = await readFile(join(outDir, name), "utf8").catch(() => "");
    const complete = text.slice(0, text.lastIndexOf("\n") + 1);
    lines.push(...complete.split("\n").filter((line) => line.trim() !== ""));
  }
  return lines;
}

/** One line per span for an error message. */
function summarize(spans: CollectedSpan[]): string {
  if (spans.length === 0) return "no spans";
  const shown = spans.slice(-40).map((s) => {
    const attrs = JSON.stringify(s.attributes);
    return `  ${s.serviceName} ${s.kind} "${s.name}" trace=${s.traceId} span=${s.spanId} parent=${s.parentSpanId || "-"} status=${s.status.code} ${attrs.length > 300 ? `${attrs.slice(0, 300)}…` : attrs}`;
  });
  const skipped = spans.length - shown.length;
  return `${spans.length} spans${skipped > 0 ? ` (the last ${shown.length})` : ""}:\n${shown.join("\n")}`;
}

/**
 * Starts the OpenTelemetry Collector that build-otelcol.sh builds, with the otlp receiver (gRPC and
 * HTTP) on free loopback ports writing everything it receives as OTLP JSON lines into `dir`/out
 * (a new temp dir unless given). Resolves once its health check answers.
 */
export async function startOtelCollector(options: { dir?: string } = {}): Promise<OtelCollector> {
  const bin = requireOtelcol();
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "chorus-otelcol-"));
  const outDir = join(dir, "out");
  mkdirSync(outDir, { recursive: true });
  const outFile = join(outDir, "otlp.jsonl");
  let launched: Launched | undefined;
  // A port taken between freePort() and the collector's bind makes it exit: try fresh ports.
  for (let attempt = 1; launched === undefined; attempt += 1) {
    try {
      launched = await launch(bin, dir, outFile);
    } catch (err) {
      if (attempt >= 3) {
        if (!options.dir) await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  const { child } = launched;
  // A test that never calls stop() (or a runner that exits with --test-force-exit) leaves no
  // collector behind: it is killed, by its PID, when this process exits.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const spans = async () => (await readLines(outDir)).flatMap((line) => flattenTraces(JSON.parse(line)));
  let stopped: Promise<void> | undefined;
  return {
    grpcEndpoint: `http://127.0.0.1:${launched.grpc}`,
    httpEndpoint: `http://127.0.0.1:${launched.http}`,
    dir,
    pid: child.pid,
    spans,
    async waitForSpans(predicate, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const seen = await spans();
        if (predicate(seen)) return seen;
        if (Date.now() >= deadline) {
          throw new Error(`otel-collector: spans did not match within ${timeoutMs} ms; ${summarize(seen)}`);
        }
        await delay(Math.min(100, Math.max(1, deadline - Date.now())));
      }
    },
    stop() {
      stopped ??= (async () => {
        process.removeListener("exit", killOnExit);
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once("exit", resolve));
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
          await exited;
          clearTimeout(timer);
        }
        if (!options.dir) await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
