import type { Metadata } from "@grpc/grpc-js";

/** The roles a caller can hold: user (chat, own conversations), operator (stats, scaling), admin (all). */
export const ROLES = ["user", "operator", "admin"] as const;

/** One role. */
export type Role = (typeof ROLES)[number];

/** Who is calling, as established by authentication. */
export interface Principal {
  /** Stable id that owns conversations (an API key's principal, or a token's subject claim). */
  readonly id: string;
  readonly roles: ReadonlySet<Role>;
  /** How the identity was proven: an API key, an OIDC token, a mesh certificate, or none (local run). */
  readonly via: "key" | "token" | "mesh" | "local";
  /** The API key's id or the token's jti, for audit lines (never the secret). */
  readonly credentialId?: string | undefined;
  /** Per-credential limits, when the key file sets them. */
  readonly limits?: PrincipalLimits | undefined;
}

/** Limits one credential carries (0 or absent: the configured default). */
export interface PrincipalLimits {
  readonly requests_per_minute?: number | undefined;
  readonly tokens_per_minute?: number | undefined;
  readonly concurrent_turns?: number | undefined;
}

/** The principal of a local, keyless run on loopback: one admin named "local". */
export const LOCAL_PRINCIPAL: Principal = { id: "local", roles: new Set(["admin"]), via: "local" };

/** True when `principal` holds `role` (admin holds every role). */
export function hasRole(principal: Principal, role: Role): boolean {
  return principal.roles.has("admin") || principal.roles.has(role);
}

const principals = new WeakMap<Metadata, Principal>();

/** Remembers who sent the call that carries `metadata` (set by the guard, read by handlers). */
export function attachPrincipal(metadata: Metadata, principal: Principal): void {
  principals.set(metadata, principal);
}

/** The principal the guard established for the call carrying `metadata`, if any. */
export function principalOf(metadata: Metadata): Principal | undefined {
  return principals.get(metadata);
}
