import {
  type Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptor,
  ServerListenerBuilder,
  status,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { RpcError } from "../status.js";
import { type PeerInfo, peerInfo } from "./peer.js";
import { attachPrincipal, type Principal } from "./principal.js";

/** Decides who a caller is and whether it may call a method; throws RpcError to refuse. */
export interface Gatekeeper {
  /** Establishes the caller from its metadata and transport (UNAUTHENTICATED when it cannot). */
  authenticate(metadata: Metadata, peer: PeerInfo, method: string): Promise<Principal>;
  /** Refuses (PERMISSION_DENIED) a principal that may not call `method` (a grpc path). */
  authorize(principal: Principal, method: string): void;
}

/** Methods anyone may call, authenticated or not: health checks, for probes. */
export const OPEN_METHODS: ReadonlySet<string> = new Set([
  "/grpc.health.v1.Health/Check",
  "/grpc.health.v1.Health/Watch",
]);

function refusal(err: unknown, log: Logger, method: string): { code: status; details: string } {
  if (
    err instanceof RpcError &&
    (err.code === status.UNAUTHENTICATED || err.code === status.PERMISSION_DENIED)
  )
    return { code: err.code, details: err.message };
  if (err instanceof RpcError && err.code === status.RESOURCE_EXHAUSTED)
    return { code: err.code, details: err.message };
  log.error({ err, method }, "authentication failed unexpectedly");
  return { code: status.UNAVAILABLE, details: "authentication is unavailable; try again" };
}

/**
 * A server interceptor that authenticates and authorizes every call except OPEN_METHODS before
 * its handler sees a message, and attaches the principal to the call's metadata for handlers.
 */
export function guardInterceptor(gatekeeper: Gatekeeper, log: Logger): ServerInterceptor {
  return (descriptor, call) => {
    const method = descriptor.path;
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        if (OPEN_METHODS.has(method)) return next(metadata);
        const peer = peerInfo(call.getPeer(), call.getAuthContext());
        gatekeeper.authenticate(metadata, peer, method).then(
          (principal) => {
            try {
              gatekeeper.authorize(principal, method);
            } catch (err) {
              call.sendStatus({ ...refusal(err, log, method) });
              return;
            }
            attachPrincipal(metadata, principal);
            next(metadata);
          },
          (err: unknown) => call.sendStatus({ ...refusal(err, log, method) }),
        );
      })
      .build();
    const responder = new ResponderBuilder().withStart((next) => next(listener)).build();
    return new ServerInterceptingCall(call, responder);
  };
}
