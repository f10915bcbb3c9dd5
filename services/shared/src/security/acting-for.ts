import { type Metadata, status } from "@grpc/grpc-js";
import { invalidArgument, RpcError } from "../status.js";
import { hasRole, LOCAL_PRINCIPAL, type Principal } from "./principal.js";

/**
 * The metadata contract by which the orchestrator tells history whose data a call is for.
 *
 * History trusts these keys only because nothing but the orchestrator can reach it: in the mesh
 * its server admits only the orchestrator's certificate (mTLS, `orchestratorOnly`), and without
 * mesh TLS it listens on loopback only (`checkExposure`). `principalOf(context.metadata)` on the
 * history side names the orchestrator itself (the mesh principal), never the user it acts for.
 * On the AppendTurns stream, whose appends act for many principals, each item names its own in the
 * message (`acting_for`, `acting_for_admin`) under the same trust; the stream's metadata is not used.
 */

/** Metadata key carrying the id of the principal a call acts for. */
export const ACTING_FOR_PRINCIPAL_KEY = "x-chorus-principal";

/** Metadata key that is "1" when that principal is an admin (may act on every principal's data). */
export const ACTING_FOR_ADMIN_KEY = "x-chorus-principal-admin";

/** Longest principal id carried, in characters (OpenID Connect caps `sub` at 255 ASCII characters). */
export const PRINCIPAL_ID_MAX_CHARS = 255;

const PRINCIPAL_ID = new RegExp(`^[!-~]{1,${PRINCIPAL_ID_MAX_CHARS}}$`);

/** The principal a call acts for, as history reads it from the orchestrator's metadata. */
export interface ActingFor {
  /** The principal that owns what the call creates. */
  readonly id: string;
  /** True when the call may see and change every principal's data. */
  readonly admin: boolean;
}

/**
 * Whom a call without the metadata acts for (a local keyless run, or a caller from before the
 * contract): `local`, but without admin rights, so a call the orchestrator forgets to tag sees
 * only what keyless runs wrote, never every principal's data.
 */
export const UNTAGGED_CALL: ActingFor = { id: LOCAL_PRINCIPAL.id, admin: false };

/** True when `id` can be carried as a principal id: 1 to 255 visible ASCII characters. */
export function isValidPrincipalId(id: string): boolean {
  return PRINCIPAL_ID.test(id);
}

/**
 * The RpcOptions.metadata with which the orchestrator calls history for `principal`; throws
 * UNAUTHENTICATED for an id that cannot be carried (refuse such ids when authenticating).
 */
export function actingForMetadata(principal: Principal): Record<string, string> {
  if (!isValidPrincipalId(principal.id))
    throw new RpcError(
      status.UNAUTHENTICATED,
      `principal id must be 1 to ${PRINCIPAL_ID_MAX_CHARS} visible ASCII characters`,
    );
  return {
    [ACTING_FOR_PRINCIPAL_KEY]: principal.id,
    ...(hasRole(principal, "admin") ? { [ACTING_FOR_ADMIN_KEY]: "1" } : {}),
  };
}

function single(metadata: Metadata, key: string): string | undefined {
  const values = metadata.get(key);
  if (values.length === 0) return undefined;
  if (values.length > 1) invalidArgument(key, "must be sent once");
  const [value] = values;
  return typeof value === "string" ? value : invalidArgument(key, "must be text");
}

/**
 * The principal a call acts for, read from its metadata; UNTAGGED_CALL when neither key is sent;
 * INVALID_ARGUMENT naming the key when a value is malformed.
 */
export function actingFor(metadata: Metadata): ActingFor {
  const id = single(metadata, ACTING_FOR_PRINCIPAL_KEY);
  const admin = single(metadata, ACTING_FOR_ADMIN_KEY);
  if (admin !== undefined && admin !== "1") invalidArgument(ACTING_FOR_ADMIN_KEY, 'must be "1" or absent');
  if (id === undefined) {
    if (admin !== undefined) invalidArgument(ACTING_FOR_ADMIN_KEY, `needs ${ACTING_FOR_PRINCIPAL_KEY}`);
    return UNTAGGED_CALL;
  }
  if (!isValidPrincipalId(id))
    invalidArgument(
      ACTING_FOR_PRINCIPAL_KEY,
      `must be 1 to ${PRINCIPAL_ID_MAX_CHARS} visible ASCII characters (no spaces)`,
    );
  return { id, admin: admin === "1" };
}
