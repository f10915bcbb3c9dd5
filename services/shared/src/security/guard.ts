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
import { type PeerInfo, peerInfo, type TransportAuth } from "./peer.js";
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
 * The HTTP/2 session (one TLS connection) a call came in on. grpc-js exposes no per-connection
 * object, so this walks its private fields (the interceptor chain's `nextCall`, then the base
 * call's `stream.session`); undefined when a grpc-js version lays them out otherwise.
 */
function sessionOf(call: unknown): object | undefined {
  let at = call as { nextCall?: unknown; stream?: { session?: unknown } } | undefined;
  for (let depth = 0; at && depth < 8; depth++) {
    const session = at.stream?.session;
    if (typeof session === "object" && session !== null) return session;
    at = at.nextCall as typeof at;
  }
  return undefined;
}

/** What TLS said about each connection's peer: its certificate cannot change within one connection. */
const sessionAuth = new WeakMap<object, TransportAuth>();

/**
 * The call's TLS facts, read once per connection: getPeerCertificate() builds the whole certificate
 * as JavaScript objects (about 19 µs) on every call otherwise. A client with a renewed certificate
 * opens a new connection (HTTP/2 forbids TLS renegotiation), which is read afresh.
 */
function transportAuth(call: { getAuthContext(): TransportAuth }): TransportAuth {
  const session = sessionOf(call);
  if (!session) return call.getAuthContext();
  const known = sessionAuth.get(session);
  if (known) return known;
  const auth = call.getAuthContext();
  sessionAuth.set(session, auth);
  return auth;
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
        const peer = peerInfo(call.getPeer(), transportAuth(call));
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
