import { z } from "zod";

const path = (description: string) => z.string().default("").meta({ description });
const positiveInt = z.number().int().positive();

/** TLS on the orchestrator's public port: certificate files, re-read when they change. */
const publicTlsSchema = z
  .object({
    cert_file: path("PEM certificate served on the public port; empty: plaintext (loopback only)"),
    key_file: path("its PEM private key"),
    client_ca_file: path("CA that client certificates must chain to (with client_auth optional or require)"),
    client_auth: z
      .enum(["none", "optional", "require"])
      .default("none")
      .meta({ description: "ask callers for a client certificate: none | optional | require" }),
  })
  .strict()
  .superRefine((tls, ctx) => {
    if ((tls.cert_file === "") !== (tls.key_file === ""))
      ctx.addIssue({ code: "custom", path: ["key_file"], message: "cert_file and key_file go together" });
    if (tls.client_auth !== "none" && tls.client_ca_file === "")
      ctx.addIssue({
        code: "custom",
        path: ["client_ca_file"],
        message: `required with client_auth ${tls.client_auth}`,
      });
    if (tls.client_auth !== "none" && tls.cert_file === "")
      ctx.addIssue({ code: "custom", path: ["cert_file"], message: "client_auth needs TLS: set cert_file" });
  });

/** mTLS inside the mesh: each service proves its identity to the others with a certificate. */
const meshSchema = z
  .object({
    mode: z.enum(["auto", "files", "off"]).default("auto").meta({
      description:
        "auto: `chorus up` makes a throwaway CA and certificates under dir; files: the files below; off: plaintext (loopback only)",
    }),
    dir: path("auto: where the throwaway CA and certificates live; empty: mesh-tls beside history.path"),
    ca_file: path("files: the CA every mesh certificate chains to"),
    cert_file: path("files: this service's certificate ({service} becomes orchestrator, agent or history)"),
    key_file: path("files: its private key ({service} as above)"),
    orchestrator_name: z
      .string()
      .min(1)
      .default("chorus-orchestrator")
      .meta({ description: "name agents and history accept" }),
    agent_name: z
      .string()
      .min(1)
      .default("chorus-agent")
      .meta({ description: "name the orchestrator requires of agents" }),
    history_name: z
      .string()
      .min(1)
      .default("chorus-history")
      .meta({ description: "name the orchestrator requires of history" }),
  })
  .strict()
  .superRefine((mesh, ctx) => {
    if (mesh.mode !== "files") return;
    for (const key of ["ca_file", "cert_file", "key_file"] as const)
      if (mesh[key] === "")
        ctx.addIssue({ code: "custom", path: [key], message: "required with mode files" });
  });

/** OpenID Connect / JWT bearer tokens, verified against the issuer's published keys. */
const oidcSchema = z
  .object({
    issuer: z.string().default("").meta({ description: "expected iss; empty: tokens are not accepted" }),
    audience: z.string().default("").meta({ description: "expected aud" }),
    jwks_url: z
      .string()
      .default("")
      .meta({ description: "the issuer's JWKS; empty: <issuer>/.well-known/jwks.json" }),
    algorithms: z
      .array(
        z.enum(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]),
      )
      .min(1)
      .default(["RS256", "ES256"])
      .meta({ description: "signature algorithms accepted (never none, never HMAC)" }),
    clock_skew_seconds: z
      .number()
      .int()
      .min(0)
      .max(300)
      .default(30)
      .meta({ description: "tolerance on exp and nbf" }),
    principal_claim: z.string().min(1).default("sub").meta({ description: "claim naming the principal" }),
    roles_claim: z
      .string()
      .min(1)
      .default("roles")
      .meta({ description: "claim listing roles (user, operator, admin)" }),
    default_roles: z
      .array(z.enum(["user", "operator", "admin"]))
      .default(["user"])
      .meta({ description: "roles of a token without the roles claim" }),
  })
  .strict()
  .superRefine((oidc, ctx) => {
    if (oidc.issuer !== "" && oidc.audience === "")
      ctx.addIssue({ code: "custom", path: ["audience"], message: "required when issuer is set" });
  });

/** Default limits of a credential that sets none of its own (0: unlimited). */
const keyLimitsSchema = z
  .object({
    requests_per_minute: z
      .number()
      .int()
      .min(0)
      .default(0)
      .meta({ description: "turns a credential may start per minute" }),
    tokens_per_minute: z
      .number()
      .int()
      .min(0)
      .default(0)
      .meta({ description: "model tokens a credential may use per minute" }),
    concurrent_turns: z
      .number()
      .int()
      .min(0)
      .default(0)
      .meta({ description: "turns a credential may have in flight" }),
  })
  .strict();

/** Who may call the public port and how: API keys, OIDC tokens, limits and failed-attempt bounds. */
const authSchema = z
  .object({
    keys_file: path("API keys file (hashes only, from `chorus keys create`), re-read when it changes"),
    oidc: oidcSchema
      .prefault({})
      .meta({ description: "OpenID Connect bearer tokens, verified against the issuer's keys" }),
    limits: keyLimitsSchema
      .prefault({})
      .meta({ description: "limits of a credential that sets none of its own (0: unlimited)" }),
    failed_per_minute: positiveInt
      .max(10_000)
      .default(20)
      .meta({ description: "failed authentications one peer may make per minute" }),
    reload_ms: positiveInt
      .min(100)
      .default(2000)
      .meta({ description: "how often the keys file and certificates are checked for changes" }),
  })
  .strict();

/** Transport security and identity of every Chorus port. */
export const securitySchema = z
  .object({
    insecure: z.boolean().default(false).meta({
      description: "allow listening beyond loopback without TLS or authentication (also --insecure)",
    }),
    tls: publicTlsSchema.prefault({}).meta({ description: "TLS on the orchestrator's public port" }),
    mesh: meshSchema.prefault({}).meta({
      description: "mTLS between orchestrator, agents and history: each proves its identity by certificate",
    }),
    auth: authSchema
      .prefault({})
      .meta({ description: "who may call the public port: API keys and OIDC tokens" }),
  })
  .strict();

/** Validated `security:` settings. */
export type SecurityConfig = z.infer<typeof securitySchema>;
