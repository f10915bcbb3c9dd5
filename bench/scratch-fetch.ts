import http from "node:http";
import OpenAI from "openai";
import { snapshotBundle, startSimulatorProcess } from "./src/mesh.js";

const bundle = snapshotBundle();
const sim = await startSimulatorProcess(bundle.path, "zero");
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** fetch over node:http with a keep-alive agent: enough of fetch for the openai SDK. */
async function httpFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
  const headers: Record<string, string> = {};
  new Headers(init?.headers).forEach((v, k) => { headers[k] = v; });
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init?.method ?? "GET", headers, agent, signal: init?.signal ?? undefined }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers: h }));
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(typeof init?.body === "string" ? init.body : undefined);
  });
}

const body = { model: "gpt-3.5-turbo", temperature: 0.7, max_tokens: 1000, messages: [{ role: "system" as const, content: "You are a balanced assistant." }, { role: "user" as const, content: "What can you tell me about parallel processing?" }] };
async function measure(name: string, one: () => Promise<unknown>, n = 3000, conc = 8) {
  for (let i = 0; i < 300; i++) await one();
  const cpu0 = process.cpuUsage(); const t0 = performance.now();
  let left = n;
  await Promise.all(Array.from({ length: conc }, async () => { while (left-- > 0) await one(); }));
  const cpu = process.cpuUsage(cpu0); const ms = performance.now() - t0;
  console.log(`${name.padEnd(28)} ${(n / (ms / 1000)).toFixed(0)} req/s  client CPU ${((cpu.user + cpu.system) / 1000 / n).toFixed(3)} ms/req`);
}
const sdk = new OpenAI({ baseURL: sim.url, apiKey: "x", maxRetries: 0 });
const sdkHttp = new OpenAI({ baseURL: sim.url, apiKey: "x", maxRetries: 0, fetch: httpFetch as typeof fetch });
try {
  for (let round = 0; round < 2; round++) {
    await measure("openai SDK (global fetch)", () => sdk.chat.completions.create({ ...body, stream: false }));
    await measure("openai SDK (node:http fetch)", () => sdkHttp.chat.completions.create({ ...body, stream: false }));
    await measure("raw fetch", async () => (await fetch(`${sim.url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })).json());
    await measure("raw node:http", async () => (await httpFetch(`${sim.url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })).json());
  }
} finally { await sim.stop(); bundle.remove(); }
