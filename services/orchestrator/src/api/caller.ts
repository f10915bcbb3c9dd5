import { type CallContext, LOCAL_PRINCIPAL, type Principal, principalOf, RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";

/**
 * Who made a call: the principal the guard established, or — only when the public port has no
 * authentication (a keyless run on loopback) — the local principal. With authentication on, a call
 * without a principal is refused rather than treated as local.
 */
export function callerOf(context: CallContext, authEnabled: boolean): Principal {
  const principal = principalOf(context.metadata);
  if (principal) return principal;
  if (!authEnabled) return LOCAL_PRINCIPAL;
  throw new RpcError(status.UNAUTHENTICATED, "no authenticated principal on this call");
}

/**
 * The client a call counts as for fair queuing: its principal, or — for the keyless local principal,
 * which every caller of a local run shares — the address of the caller's connection.
 */
export function clientKeyOf(context: CallContext, principal: Principal): string {
  return principal.via === "local" ? `peer ${context.peer}` : `principal ${principal.id}`;
}
