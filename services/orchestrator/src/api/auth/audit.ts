import type { Logger, Principal } from "@chorus/shared";

/** One audited action: who did what to which thing, and how it ended. */
export interface AuditRecord {
  readonly principal: Principal;
  /** The gRPC method (or another name of the action). */
  readonly method: string;
  /** What was acted on: a pool, a conversation id, another principal's data. */
  readonly target: string;
  /** How it ended: "ok", "denied", "not_found", an error code. */
  readonly result: string;
}

/** One refused authentication or authorization, as the gatekeeper saw it. */
export interface AuditRefusal {
  readonly method: string;
  /** The caller's address, when the refusal happened where it is known. */
  readonly peer?: string | undefined;
  /** The message the caller was given. */
  readonly reason: string;
  /** The gRPC status name: UNAUTHENTICATED, PERMISSION_DENIED or RESOURCE_EXHAUSTED. */
  readonly code: string;
  readonly principal?: string | undefined;
  readonly credentialId?: string | undefined;
  /** True when this failure used up the peer's allowance: its next attempts are refused unheard, and unlogged. */
  readonly peerBlocked?: boolean | undefined;
}

/** The audit trail: structured lines marked `audit: true`, never carrying a secret. */
export interface Audit {
  /** Records a sensitive action (ScalePool, deletes, an admin reading others' data). */
  record(entry: AuditRecord): void;
  /** Records a refused caller. */
  refusal(entry: AuditRefusal): void;
}

/** An audit trail written to `log` as a child logger with `audit: true`. */
export function auditLog(log: Logger): Audit {
  const audit = log.child({ audit: true });
  return {
    record({ principal, method, target, result }) {
      audit.info(
        {
          principal: principal.id,
          via: principal.via,
          credential_id: principal.credentialId,
          method,
          target,
          result,
        },
        "audit",
      );
    },
    refusal({ method, peer, reason, code, principal, credentialId, peerBlocked }) {
      const fields = { principal, credential_id: credentialId, method, peer, code, reason };
      audit.warn(peerBlocked ? { ...fields, peer_blocked: true } : fields, "audit: caller refused");
    },
  };
}
