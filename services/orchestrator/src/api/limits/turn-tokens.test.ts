import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ChatResponseSchema } from "@chorus/proto";
import { tokensOfTurn } from "./turn-tokens.js";

type ChatResponseInit = MessageInitShape<typeof ChatResponseSchema>;

describe("tokensOfTurn", () => {
  const cases: [string, ChatResponseInit, number][] = [
    [
      "sums prompt and completion tokens of every answer",
      {
        agentAnswers: [
          { promptTokens: 3, completionTokens: 4 },
          { promptTokens: 10, completionTokens: 20 },
        ],
      },
      37,
    ],
    [
      "leaves out answers served from the cache",
      {
        agentAnswers: [
          { promptTokens: 3, completionTokens: 4 },
          { cached: true, promptTokens: 9, completionTokens: 9 },
        ],
      },
      7,
    ],
    [
      "counts nothing for a turn replayed from history",
      { replayed: true, agentAnswers: [{ promptTokens: 5 }] },
      0,
    ],
    ["counts nothing for a response without answers", {}, 0],
  ];
  for (const [claim, response, tokens] of cases)
    it(claim, () => assert.equal(tokensOfTurn(response), tokens));
});
