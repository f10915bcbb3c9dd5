import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { asOrchestrator, type ChorusUp, startChorusUp } from "@chorus/cli/testing";
import { AgentService, ChatService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";
import { type RedisServer, startRedisServer } from "@chorus/shared/testing";
import { CACHING_AGENTS } from "./testing/caching-agents.js";

const soon = () => ({ deadline: new Date(Date.now() + 60_000) });

async function busyReplica(chat: PromiseClient<typeof ChatService>, agent: string) {
  for (let i = 0; i < 200; i += 1) {
    const status = await chat.getStatus({}, soon());
    const replica = status.pools.find((p) => p.agent === agent)?.replicas.find((r) => r.inFlight > 0);
    if (replica) return replica;
    await delay(20);
  }
  return assert.fail(`no ${agent} replica ever had a task in flight`);
}

describe("a replica killed mid-turn", () => {
  let mesh: ChorusUp;
  let chat: PromiseClient<typeof ChatService>;
  before(async () => {
    mesh = await startChorusUp({
      simulator: { ttft_ms: 1500, ttft_std_ms: 0, itl_ms: 5, itl_std_ms: 0, tokens: 8 },
      agents: [
        {
          name: "creative",
          temperature: 0.8,
          max_tokens: 200,
          system_prompt: "You are a creative assistant.",
          workers: 2,
          replicas: 2,
        },
      ],
    });
    chat = createClient(ChatService, mesh.address);
  });
  after(async () => {
    chat.close();
    await mesh.stop();
  });

  it("does not fail the turn: the task is retried on another replica", async () => {
    const turn = chat.chat({ message: "Survive a crash" }, soon());
    const victim = await busyReplica(chat, "creative");
    const agent = createClient(AgentService, victim.address, {}, asOrchestrator(mesh, "agent"));
    const { pid } = await agent.describe({}, soon());
    agent.close();
    assert.ok(pid > 0);
    process.kill(pid, "SIGKILL");
    const response = await turn;
    const answer = response.agentAnswers[0];
    assert.equal(answer?.ok, true, answer?.error);
    assert.equal(answer?.attempts, 2);
    assert.notEqual(answer?.replica, victim.address);
  });

  it("replaces the killed replica", async () => {
    for (let i = 0; i < 300; i += 1) {
      const status = await chat.getStatus({}, soon());
      const running = status.pools[0]?.replicas.filter((r) => r.state === "RUNNING").length ?? 0;
      if (running === 2) return;
      await delay(50);
    }
    assert.fail("the pool never got back to 2 running replicas");
  });
});

describe("the Redis cache", () => {
  let redis: RedisServer;
  let mesh: ChorusUp;
  let chat: PromiseClient<typeof ChatService>;
  before(async () => {
    redis = await startRedisServer();
    mesh = await startChorusUp({ agents: CACHING_AGENTS }, { REDIS_URL: redis.url });
    chat = createClient(ChatService, mesh.address);
  });
  after(async () => {
    chat.close();
    await mesh.stop();
    await redis.stop();
  });

  it("serves a repeated question from Redis", async () => {
    const first = await chat.chat({ message: "Cache this through Redis" }, soon());
    const second = await chat.chat({ message: "Cache this through Redis" }, soon());
    assert.equal(first.cached, false);
    assert.equal(second.cached, true);
    assert.equal(second.answer, first.answer);
    const status = await chat.getStatus({}, soon());
    const cache = status.components.find((c) => c.name === "cache");
    assert.match(cache?.detail ?? "", /redis .* ready/);
  });

  it("keeps answering while Redis is down, and uses it again once it is back", async () => {
    await redis.stop();
    const during = await chat.chat({ message: "Redis is down" }, soon());
    assert.equal(during.agentAnswers.filter((a) => a.ok).length, 3);
    const status = await chat.getStatus({}, soon());
    assert.equal(status.components.find((c) => c.name === "cache")?.healthy, false);
    await redis.restart();
    for (let i = 0; i < 200; i += 1) {
      const now = await chat.getStatus({}, soon());
      if (now.components.find((c) => c.name === "cache")?.healthy) break;
      await delay(50);
    }
    await chat.chat({ message: "Redis is back" }, soon());
    const again = await chat.chat({ message: "Redis is back" }, soon());
    assert.equal(again.cached, true);
  });
});
