import { createInterface } from "node:readline/promises";
import { type AgentAnswer, BatchMode, ChatService, HistoryService } from "@chorus/proto";
import type { PromiseClient } from "@chorus/shared";
import { BatchProgress } from "./batch-progress.js";
import { reportError } from "./client-commands.js";
import type { Target } from "./connection.js";
import { formatStats, formatStatus } from "./format.js";

const HELP = `Type a message to ask every agent. Commands:
  /help       this help
  /stats      request, latency, cache and per-agent statistics
  /status     component health, agent pool blocks and scaling settings
  /batch N    send N of the seed's test messages, round-robin over the agents (shows pools' blocks)
  /history    this conversation's turns
  /new        start a new conversation
  /quit       leave (also quit, exit, bye)`;

const QUIT = new Set(["/quit", "quit", "exit", "bye", "/exit"]);
const MAX_BATCH_INPUT = 100_000;

/** The interactive chat: streams each answer, runs slash commands, keeps one conversation. */
export async function runRepl(target: Target, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const { address } = target;
  const chat = target.open(ChatService);
  const history = target.open(HistoryService);
  const rl = createInterface({ input: process.stdin, output: out, terminal: process.stdin.isTTY });
  // The line iterator buffers lines that arrive while a turn runs (piped stdin); question() drops them.
  const lines = rl[Symbol.asyncIterator]();
  rl.setPrompt("you> ");
  // Piped input closes the interface at its end while buffered lines remain; prompt() would throw.
  let closed = false;
  rl.once("close", () => {
    closed = true;
  });
  const print = (text: string) => out.write(`${text}\n`);
  let conversationId = "";
  print(`Chorus at ${address}. Type a message to ask every agent; /help lists commands.`);
  try {
    for (;;) {
      if (closed) out.write("you> ");
      else rl.prompt();
      const next = await lines.next();
      if (next.done) break;
      const line = next.value.trim();
      if (line === "") continue;
      if (QUIT.has(line.toLowerCase())) break;
      try {
        if (line === "/help") print(HELP);
        else if (line === "/stats")
          print(formatStats(await chat.getStats({}, { deadline: new Date(Date.now() + 10_000) })));
        else if (line === "/status")
          print(formatStatus(await chat.getStatus({}, { deadline: new Date(Date.now() + 10_000) })));
        else if (line === "/new") {
          conversationId = "";
          print("(new conversation)");
        } else if (line === "/history") {
          if (!conversationId) print("(no conversation yet)");
          else {
            const response = await history.getConversation(
              { conversationId },
              { deadline: new Date(Date.now() + 10_000) },
            );
            for (const turn of response.turns)
              print(`#${turn.seq} you: ${turn.message}\n   chorus: ${turn.answer}`);
          }
        } else if (line.startsWith("/batch")) {
          const count = Number(line.split(/\s+/)[1] ?? "10");
          if (!Number.isInteger(count) || count <= 0 || count > MAX_BATCH_INPUT) {
            print("usage: /batch N (N a positive whole number)");
            continue;
          }
          const progress = new BatchProgress(chat, count, out);
          progress.start();
          try {
            for await (const event of chat.batch({ count, mode: BatchMode.ROUND_ROBIN })) {
              if (event.event.case === "item") progress.item(event.event.value.success);
              else if (event.event.case === "summary") {
                const s = event.event.value;
                print(
                  `\nbatch: ${s.successful}/${s.total} ok, ${s.failed} failed, ${(s.wallTimeMs / 1000).toFixed(2)} s, ${s.messagesPerSecond.toFixed(2)} messages/s`,
                );
              }
            }
          } finally {
            progress.stop();
          }
        } else if (line.startsWith("/")) print(`unknown command ${line}; /help lists commands`);
        else conversationId = await streamTurn(chat, conversationId, line, out);
      } catch (err) {
        reportError(err, address);
      }
    }
  } finally {
    rl.close();
    chat.close();
    history.close();
  }
}

function agentNotice(a: AgentAnswer): string {
  const outcome = a.ok ? "answered" : `failed: ${a.error}`;
  return `  · ${a.agent} ${outcome} in ${a.latencyMs.toFixed(0)} ms${a.cached ? " (cached)" : ""}\n`;
}

async function streamTurn(
  chat: PromiseClient<typeof ChatService>,
  conversationId: string,
  message: string,
  out: NodeJS.WritableStream,
): Promise<string> {
  let lead = "";
  let streamed = "";
  let leadDone = false;
  // Other agents' notices wait until the streamed answer's line is complete, so lines never interleave.
  const held: string[] = [];
  for await (const event of chat.chatStream(
    { conversationId, message },
    { deadline: new Date(Date.now() + 120_000) },
  )) {
    const e = event.event;
    if (e.case === "started") {
      conversationId = e.value.conversationId;
      lead = e.value.agents[0] ?? "";
      out.write(`${lead}> `);
    } else if (e.case === "delta" && e.value.agent === lead) {
      streamed += e.value.text;
      out.write(e.value.text);
    } else if (e.case === "agentDone") {
      if (e.value.agent !== lead && !leadDone) {
        held.push(agentNotice(e.value));
        continue;
      }
      if (e.value.agent === lead) {
        leadDone = true;
        out.write(`\n${agentNotice(e.value)}${held.splice(0).join("")}`);
      } else out.write(agentNotice(e.value));
    } else if (e.case === "final") {
      if (!leadDone) out.write(`\n${held.splice(0).join("")}`);
      const by = e.value.answeredBy.join(", ") || "none";
      if (e.value.answer.trim() !== streamed.trim()) out.write(`chorus (${by})> ${e.value.answer}\n`);
      else out.write(`  (answer from ${by})\n`);
    }
  }
  return conversationId;
}
