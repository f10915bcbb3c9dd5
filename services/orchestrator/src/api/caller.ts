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
