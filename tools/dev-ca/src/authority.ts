// tsyringe, which @peculiar/x509 uses inside, needs the Reflect metadata polyfill loaded first.
import "reflect-metadata";
import { randomBytes, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;

/** A certificate and its private key, both PEM. */
export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

/** What a leaf certificate says about its holder. */
export interface LeafRequest {
  /** The subject's common name: the identity the mesh checks (e.g. chorus-orchestrator). */
  readonly name: string;
  /** DNS names it answers to (the name itself is always included). */
  readonly dnsNames?: readonly string[];
  /** IP addresses it answers to. */
  readonly ips?: readonly string[];
  /** Valid for this many days from now (negative for an already expired one, in tests). */
  readonly days?: number;
  /** Whether it may serve (server auth), be a client (client auth), or both (the default). */
  readonly usage?: "server" | "client" | "both";
}

async function pem(keys: webcrypto.CryptoKeyPair): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  const body = Buffer.from(pkcs8)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n");
  return `-----BEGIN PRIVATE KEY-----\n${body.trim()}\n-----END PRIVATE KEY-----\n`;
}

const serial = () =>
  randomBytes(16)
    .toString("hex")
    .replace(/^[89a-f]/, "1");

/** A certificate authority that signs leaf certificates; its key never leaves the process unless saved. */
export class CertificateAuthority {
  private constructor(
    private readonly keys: webcrypto.CryptoKeyPair,
    private readonly certificate: x509.X509Certificate,
    /** The CA's key pair, PEM. */
    readonly pair: KeyPair,
  ) {}

  /** Creates a new self-signed CA valid for `days`. */
  static async create(name = "Chorus dev CA", days = 365): Promise<CertificateAuthority> {
    const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=${name}`,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + days * DAY_MS),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new CertificateAuthority(keys, certificate, {
      cert: certificate.toString("pem"),
      key: await pem(keys),
    });
  }

  /** The CA certificate, PEM: what peers trust. */
  get cert(): string {
    return this.pair.cert;
  }

  /** Issues a leaf certificate for `request`, signed by this CA. */
  async issue(request: LeafRequest): Promise<KeyPair> {
    const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
    const days = request.days ?? 90;
    const now = Date.now();
    const [notBefore, notAfter] =
      days >= 0 ? [now - 60_000, now + days * DAY_MS] : [now + days * DAY_MS * 2, now + days * DAY_MS];
    const names = [
      ...[...new Set([request.name, ...(request.dnsNames ?? [])])].map((value) => ({ type: "dns", value })),
      ...(request.ips ?? []).map((value) => ({ type: "ip", value })),
    ] as x509.JsonGeneralName[];
    const usage = request.usage ?? "both";
    const purposes = [
      ...(usage !== "client" ? [x509.ExtendedKeyUsage.serverAuth] : []),
      ...(usage !== "server" ? [x509.ExtendedKeyUsage.clientAuth] : []),
    ];
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${request.name}`,
      issuer: this.certificate.subject,
      notBefore: new Date(notBefore),
      notAfter: new Date(notAfter),
      publicKey: keys.publicKey,
      signingKey: this.keys.privateKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(purposes),
        new x509.SubjectAlternativeNameExtension(names),
        await x509.AuthorityKeyIdentifierExtension.create(this.certificate),
      ],
    });
    return { cert: certificate.toString("pem"), key: await pem(keys) };
  }
}
