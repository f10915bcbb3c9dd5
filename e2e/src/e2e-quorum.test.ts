import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ChorusUp, startChorusUp } from "@chorus/cli/testing";
import { Aggregation, ChatService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";

const persona = (name: string, replicas: number) => ({
  name,
  temperature: 0.5,
  max_tokens: 100,
  system_prompt: `You are a ${name} assistant.`,
  workers: 2,
  replicas,
});

describe("quorum aggregation with an agent that never answers", () => {
  let mesh: ChorusUp;
  let chat: PromiseClient<typeof ChatService>;
  before(async () => {
    mesh = await startChorusUp({
      orchestrator: { quorum_size: 3, quorum_wait_ms: 500, turn_timeout_ms: 30_000 },
      // "silent" has no replicas, so its task can only wait in the queue.
      agents: [persona("creative", 1), persona("analytical", 1), persona("silent", 0)],
    });
    chat = createClient(ChatService, mesh.address);
  });
  after(async () => {
    chat.close();
    await mesh.stop();
  });

  it("answers with what arrived by quorum_wait_ms instead of waiting for the turn deadline", async () => {
    const response = await chat.chat(
      { message: "Who is here?", aggregation: Aggregation.QUORUM },
      { deadline: new Date(Date.now() + 60_000) },
    );
    assert.deepEqual(response.answeredBy, ["creative", "analytical"]);
    const silent = response.agentAnswers.find((a) => a.agent === "silent");
    assert.equal(silent?.ok, false);
    assert.match(silent?.error ?? "", /not awaited: quorum/);
  });

  it("fails a turn only the silent agent could answer with DEADLINE_EXCEEDED at the caller's deadline", async () => {
    await assert.rejects(
      chat.chat({ message: "Anyone?", agents: ["silent"] }, { deadline: new Date(Date.now() + 1500) }),
      (err: { code: number }) => {
        assert.equal(err.code, 4);
        return true;
      },
    );
  });
});
