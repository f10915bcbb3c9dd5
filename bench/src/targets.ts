import { readFileSync } from "node:fs";
import { defaultAgents } from "@chorus/config";
import { ChatService } from "@chorus/proto";
import { type ClientTransport, createClient, type TlsFiles, watchedChannelCredentials } from "@chorus/shared";
import { credentials } from "@grpc/grpc-js";
import { Redis } from "ioredis";
import type { CallFn } from "./load.js";

/** The question every bench turn asks (the seed workflow's batch message), made unique by a prefix. */
export const QUESTION = "What can you tell me about parallel processing?";

/** What a load run calls; plain data so worker processes can rebuild it. */
export type TargetSpec =
  | {
      readonly kind: "chat";
      readonly address: string;
      /** Prefix that makes messages unique to this run (and process). */
      readonly tag: string;
      /** Send the same message every time (cache hits after the first). */
      readonly repeat?: boolean | undefined;
      readonly deadlineMs?: number | undefined;
      /** Reach a TLS public port whose certificate chains to this CA (PEM file); absent: plaintext. */
      readonly caFile?: string | undefined;
      /** The name the port's certificate must carry (TLS SNI and check), as a DNS name would give it. */
      readonly serverName?: string | undefined;
      /** Send `authorization: Bearer <apiKey>` with every call. */
      readonly apiKey?: string | undefined;
    }
  | {
      readonly kind: "echo";
      readonly address: string;
      readonly tag: string;
      /** TLS as the orchestrator reaches its mesh peers: a CA, a client certificate for mTLS, the peer's name. */
      readonly tls?: Partial<TlsFiles> & { readonly serverName: string };
    }
  | { readonly kind: "redis-get"; readonly url: string; readonly key: string }
  | { readonly kind: "llm"; readonly baseUrl: string; readonly tag: string };

/** A ready call function and how to release what it holds. */
export interface Target {
  readonly call: CallFn;
  close(): Promise<void>;
}

/** Builds the call function of a target. */
export async function openTarget(spec: TargetSpec): Promise<Target> {
  switch (spec.kind) {
    case "chat":
      return chatTarget(spec);
    case "echo":
      return echoTarget(spec);
    case "redis-get":
      return redisTarget(spec.url, spec.key);
    case "llm":
      return llmTarget(spec.baseUrl, spec.tag);
  }
}

/** A plain TLS client trusting `caFile`, as any gRPC user would make one; one connection per client. */
function tlsTransport(caFile: string, serverName: string | undefined): ClientTransport {
  return {
    credentials: credentials.createSsl(readFileSync(caFile)),
    channelOptions: serverName ? { "grpc.ssl_target_name_override": serverName } : {},
  };
}

function chatTarget(spec: Extract<TargetSpec, { kind: "chat" }>): Target {
  const transport = spec.caFile ? tlsTransport(spec.caFile, spec.serverName) : undefined;
  const client = createClient(ChatService, spec.address, {}, transport);
  const deadlineMs = spec.deadlineMs ?? 120_000;
  // Per-call metadata, not call credentials: grpc-js refuses those on a plaintext channel, and the
  // same code then serves both.
  const metadata = spec.apiKey ? { authorization: `Bearer ${spec.apiKey}` } : undefined;
  // Numbered per target, not per run: a target kept open across runs must never repeat a message,
  // or the orchestrator's cache (in-process without Redis) would answer it.
  let sent = 0;
  return {
    async call() {
      const message = spec.repeat ? `${spec.tag}: ${QUESTION}` : `${spec.tag} ${sent++}: ${QUESTION}`;
      const deadline = new Date(Date.now() + deadlineMs);
      const response = await client.chat({ message }, { deadline, metadata });
      const failedAgents = response.agentAnswers.filter((answer) => !answer.ok);
      return {
        ok: response.answeredBy.length > 0 && failedAgents.length === 0,
        error: failedAgents.map((answer) => `${answer.agent}: ${answer.error}`).join("; ") || undefined,
        slowestAgentMs: Math.max(0, ...response.agentAnswers.map((answer) => answer.latencyMs)),
      };
    },
    close: async () => client.close(),
  };
}

function echoTarget(spec: Extract<TargetSpec, { kind: "echo" }>): Target {
  const transport = spec.tls && watchedChannelCredentials(spec.tls, spec.tls.serverName, 60_000);
  const client = createClient(ChatService, spec.address, {}, transport);
  return {
    async call(index) {
      const message = `${spec.tag} ${index}: ${QUESTION}`;
      const response = await client.chat({ message }, { deadline: new Date(Date.now() + 30_000) });
      return { ok: response.answer === message };
    },
    close: async () => client.close(),
  };
}

function redisTarget(url: string, key: string): Target {
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  return {
    async call() {
      const value = await redis.get(key);
      return { ok: value !== null };
    },
    close: async () => {
      redis.disconnect();
    },
  };
}

/** A perfect orchestrator: the three personas' requests sent straight to the simulator, at once. */
function llmTarget(baseUrl: string, tag: string): Target {
  const one = async (agent: (typeof defaultAgents)[number], message: string): Promise<number> => {
    const started = performance.now();
    const response = await fetch(`${baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer chorus-bench" },
      body: JSON.stringify({
        model: agent.model,
        temperature: agent.temperature,
        max_tokens: agent.max_tokens,
        messages: [
          { role: "system", content: agent.system_prompt },
          { role: "user", content: message },
        ],
      }),
    });
    const body = (await response.json()) as { choices?: Array<{ message?: { content?: string } }> };
    if (!response.ok || !body.choices?.[0]?.message?.content) throw new Error(`llm-sim ${response.status}`);
    return performance.now() - started;
  };
  return {
    async call(index) {
      const message = `${tag} ${index}: ${QUESTION}`;
      const times = await Promise.all(defaultAgents.map((agent) => one(agent, message)));
      return { ok: true, slowestAgentMs: Math.max(...times) };
    },
    close: async () => {},
  };
}
