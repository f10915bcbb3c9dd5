import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChatService, HistoryService } from "@chorus/proto";
import { type Principal, type Role, RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { authorizeMethod, METHOD_POLICY, requirementOf } from "./method-policy.js";

const principal = (...roles: Role[]): Principal => ({ id: "p", roles: new Set(roles), via: "key" });
const allowed = (p: Principal, method: string) => {
  try {
    authorizeMethod(p, method);
    return true;
  } catch (err) {
    assert.ok(err instanceof RpcError && err.code === status.PERMISSION_DENIED);
    return false;
  }
};

describe("method policy", () => {
  const expected: [string, string][] = [
    ["/chorus.v1.ChatService/Chat", "user"],
    ["/chorus.v1.ChatService/ChatStream", "user"],
    ["/chorus.v1.ChatService/Batch", "user"],
    ["/chorus.v1.ChatService/GetStats", "operator"],
    ["/chorus.v1.ChatService/GetStatus", "operator"],
    ["/chorus.v1.ChatService/WatchScaling", "operator"],
    ["/chorus.v1.ChatService/ScalePool", "operator"],
    ["/chorus.v1.HistoryService/GetTurn", "user"],
    ["/chorus.v1.HistoryService/GetConversation", "user"],
    ["/chorus.v1.HistoryService/ListConversations", "user"],
    ["/chorus.v1.HistoryService/SearchTurns", "user"],
    ["/chorus.v1.HistoryService/ExportConversation", "user"],
    ["/chorus.v1.HistoryService/DeleteConversation", "user"],
    ["/chorus.v1.HistoryService/AppendTurn", "admin"],
    ["/chorus.v1.HistoryService/ClaimTurn", "admin"],
    ["/chorus.v1.HistoryService/ReleaseTurn", "admin"],
    ["/chorus.v1.HistoryService/PrepareTurn", "admin"],
    ["/chorus.v1.HistoryService/AppendTurns", "admin"],
    ["/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "authenticated"],
    ["/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "authenticated"],
    ["/chorus.v1.AgentService/Generate", "admin"],
    ["/chorus.v1.ChatService/SomethingNew", "admin"],
  ];
  for (const [method, requirement] of expected)
    it(`${method} requires ${requirement}`, () => assert.equal(requirementOf(method), requirement));

  it("names every method of ChatService and of HistoryService's public side, and nothing that does not exist", () => {
    const served = [ChatService, HistoryService].flatMap((s) =>
      s.methods.map((m) => `/${s.typeName}/${m.name}`),
    );
    const reflection = [...METHOD_POLICY.keys()].filter((method) => method.startsWith("/grpc.reflection."));
    for (const method of METHOD_POLICY.keys())
      assert.ok(served.includes(method) || reflection.includes(method), `${method} is served by no one`);
    const internal = /\/(AppendTurn|AppendTurns|ClaimTurn|ReleaseTurn|PrepareTurn)$/;
    for (const method of served.filter((m) => !internal.test(m)))
      assert.ok(METHOD_POLICY.has(method), `${method} falls through to admin`);
  });

  it("lets each role call exactly what it needs, and admin everything", () => {
    const chat = "/chorus.v1.ChatService/Chat";
    const scale = "/chorus.v1.ChatService/ScalePool";
    const unknown = "/chorus.v1.Other/Thing";
    const reflection = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
    const table: [Role[], boolean, boolean, boolean, boolean][] = [
      [[], false, false, false, true],
      [["user"], true, false, false, true],
      [["operator"], false, true, false, true],
      [["user", "operator"], true, true, false, true],
      [["admin"], true, true, true, true],
    ];
    for (const [roles, ...want] of table) {
      const p = principal(...roles);
      assert.deepEqual(
        [chat, scale, unknown, reflection].map((m) => allowed(p, m)),
        want,
        `roles ${roles}`,
      );
    }
  });

  it("names the role needed when it refuses", () => {
    assert.throws(() => authorizeMethod(principal("user"), "/chorus.v1.ChatService/ScalePool"), {
      message: "/chorus.v1.ChatService/ScalePool needs the operator role; p has user",
    });
  });
});
