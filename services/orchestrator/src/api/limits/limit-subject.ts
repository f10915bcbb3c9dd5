import type { Principal } from "@chorus/shared";

/** Whose counters a call uses: a storage key and a name for messages. */
export interface LimitSubject {
  readonly key: string;
  readonly label: string;
}

/**
 * An API key's calls count against that key (the limits are the key's), any other principal's against
 * the principal: a token's jti changes with every token, so counting per token would reset the limits.
 */
export function subjectOf(principal: Principal): LimitSubject {
  if (principal.via === "key" && principal.credentialId) {
    return {
      key: `key:${principal.credentialId}`,
      label: `${principal.id} (key ${principal.credentialId})`,
    };
  }
  return { key: `principal:${principal.id}`, label: principal.id };
}
