import { hasRole, type Principal, type Role, RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";

/** What a method requires: a role, or only that the caller is authenticated. */
export type Requirement = Role | "authenticated";

/** The role each public method needs; a method missing here needs admin (fail closed). */
export const METHOD_POLICY: ReadonlyMap<string, Requirement> = new Map<string, Requirement>([
  ["/chorus.v1.ChatService/Chat", "user"],
  ["/chorus.v1.ChatService/ChatStream", "user"],
  ["/chorus.v1.ChatService/Batch", "user"],
  ["/chorus.v1.ChatService/GetStats", "operator"],
  ["/chorus.v1.ChatService/GetStatus", "operator"],
  ["/chorus.v1.ChatService/WatchScaling", "operator"],
  ["/chorus.v1.ChatService/ScalePool", "operator"],
  // History reads and deletes act on the caller's own conversations; history enforces the ownership.
  ["/chorus.v1.HistoryService/GetTurn", "user"],
  ["/chorus.v1.HistoryService/GetConversation", "user"],
  ["/chorus.v1.HistoryService/ListConversations", "user"],
  ["/chorus.v1.HistoryService/SearchTurns", "user"],
  ["/chorus.v1.HistoryService/ExportConversation", "user"],
  ["/chorus.v1.HistoryService/DeleteConversation", "user"],
  ["/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "authenticated"],
  ["/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "authenticated"],
]);

/** What `method` (a gRPC path) requires of its caller: its entry in METHOD_POLICY, else admin. */
export function requirementOf(method: string): Requirement {
  return METHOD_POLICY.get(method) ?? "admin";
}

/** Refuses with PERMISSION_DENIED, naming the role needed, a principal that may not call `method`. */
export function authorizeMethod(principal: Principal, method: string): void {
  const needed = requirementOf(method);
  if (needed === "authenticated" || hasRole(principal, needed)) return;
  const held = [...principal.roles].join(", ") || "none";
  throw new RpcError(
    status.PERMISSION_DENIED,
    `${method} needs the ${needed} role; ${principal.id} has ${held}`,
  );
}
