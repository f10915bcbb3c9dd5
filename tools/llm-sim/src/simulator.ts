import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { SimulatorState } from "./chat-completions.js";
import { type ChatRequest, DEFAULT_MODEL } from "./chat-request.js";
import { HttpError, sendError, sendJson } from "./http-io.js";
import { LatencyModel } from "./latency.js";
import type { SimulatorOptions } from "./options.js";
import { mulberry32 } from "./prng.js";
import { Scheduler } from "./scheduler.js";
import { emptyStats, type SimulatorStats } from "./stats.js";
import { tracedCompletion } from "./traced-completion.js";

/** A running simulator. */
export interface RunningSimulator {
  /** Base URL for OpenAI clients, ending in /v1. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops every open connection, ending generations in progress. */
  close(): Promise<void>;
  /** A snapshot of the simulator's counters. */
  stats(): SimulatorStats;
  /** The latest valid requests, oldest first (none unless `record` was set). */
  received(): readonly ChatRequest[];
}

/** Test and debugging aids that are not simulator behaviour. */
export interface SimulatorExtras {
  /** How many of the latest requests to keep for `received()`; 0 keeps none. */
  readonly record?: number | undefined;
}

function modelsBody(models: ReadonlySet<string>): unknown {
  const created = Math.floor(Date.now() / 1000);
  const data = [DEFAULT_MODEL, ...[...models].filter((model) => model !== DEFAULT_MODEL)].map((id) => ({
    id,
    object: "model",
    created,
    owned_by: "chorus-llm-sim",
  }));
  return { object: "list", data };
}

function route(state: SimulatorState, req: IncomingMessage, res: ServerResponse): Promise<void> | void {
  const path = (req.url ?? "/").split("?")[0];
  if (path === "/v1/chat/completions") {
    if (req.method !== "POST")
      throw new HttpError(405, "use POST", "invalid_request_error", "method_not_allowed");
    return tracedCompletion(req, res, state);
  }
  if (path === "/v1/models" && req.method === "GET") return sendJson(res, 200, modelsBody(state.models));
  if (path === "/health" && req.method === "GET") return sendJson(res, 200, { status: "ok" });
  throw new HttpError(404, `no route for ${req.method} ${path}`, "invalid_request_error", "not_found");
}

function toHttpError(err: unknown): HttpError {
  return err instanceof HttpError ? err : new HttpError(500, "internal simulator error", "server_error");
}

/** Starts an OpenAI-compatible simulated LLM server; port 0 picks a free port. */
export async function startSimulator(
  options: SimulatorOptions,
  extras: SimulatorExtras = {},
): Promise<RunningSimulator> {
  const scheduler = new Scheduler(options.max_concurrent, options.queue_limit);
  const stats = emptyStats();
  const record = extras.record ?? 0;
  const received: ChatRequest[] = [];
  let ids = 0;
  const state: SimulatorState = {
    options,
    scheduler,
    latency: new LatencyModel(options, mulberry32(options.seed ^ 0x5eed), () =>
      Math.min(1, scheduler.running / options.max_concurrent),
    ),
    failures: mulberry32(options.seed ^ 0xfa11),
    models: new Set(),
    stats,
    nextId: () => `chatcmpl-sim-${++ids}`,
    received:
      record > 0
        ? (request) => {
            received.push(request);
            if (received.length > record) received.shift();
          }
        : undefined,
  };
  const server = createServer((req, res) => {
    try {
      const pending = route(state, req, res);
      pending?.catch((err: unknown) => sendError(res, toHttpError(err)));
    } catch (err) {
      sendError(res, toHttpError(err));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/v1`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    stats: () => ({
      ...stats,
      running: scheduler.running,
      queued: scheduler.queued,
      peakRunning: scheduler.peakRunning,
    }),
    received: () => [...received],
  };
}
