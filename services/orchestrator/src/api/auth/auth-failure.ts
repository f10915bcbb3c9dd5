import { RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";

/** What is known about a refused credential, for the audit line (never its secret). */
export interface FailureContext {
  /** The API key's id or the token's jti, when the credential got far enough to show one. */
  readonly credentialId?: string | undefined;
  /** The principal the credential names, once its secret or signature was proven. */
  readonly principal?: string | undefined;
}

/** An UNAUTHENTICATED refusal that also carries what the audit line may say about the credential. */
export class AuthFailure extends RpcError {
  constructor(
    message: string,
    readonly context: FailureContext = {},
  ) {
    super(status.UNAUTHENTICATED, message);
    this.name = "AuthFailure";
  }
}

/** `text` cut to `max` characters (with an ellipsis), for quoting caller-supplied values in messages. */
export function truncated(text: string, max = 24): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
