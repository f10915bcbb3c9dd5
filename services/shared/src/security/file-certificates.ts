import { readFileSync, statSync } from "node:fs";
import type { experimental } from "@grpc/grpc-js";

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/** Which PEM files a provider serves: a certificate with its key, a CA, or both. */
export interface CertificateFiles {
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly caFile?: string | undefined;
}

function signature(paths: readonly string[]): string {
  return paths
    .map((path) => {
      try {
        const stat = statSync(path);
        return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
      } catch {
        return "missing";
      }
    })
    .join("|");
}

/**
 * A grpc-js certificate provider over PEM files. Unlike grpc-js's FileWatcherCertificateProvider,
 * it reads the files once synchronously when created and hands them over on the next tick, so a
 * server can handshake as soon as it is bound (a peer probing it right after "ready" is not reset,
 * as it was with the asynchronous first read); then it polls every
 * `refreshMs` and hands listeners the new files when they change (cert-manager rewrites Secrets in
 * place). A file that cannot be read during a refresh keeps the last good certificates.
 */
export class FileCertificateProvider implements experimental.CertificateProvider {
  private ca: { caCertificate: Buffer } | null = null;
  private identity: { certificate: Buffer; privateKey: Buffer } | null = null;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private timer: NodeJS.Timeout | undefined;
  private seen = "";

  constructor(
    private readonly files: CertificateFiles,
    private readonly refreshMs: number,
  ) {
    this.load();
  }

  private paths(): string[] {
    return [this.files.certFile, this.files.keyFile, this.files.caFile].filter((p): p is string => !!p);
  }

  private load(): boolean {
    const seen = signature(this.paths());
    if (seen === this.seen) return false;
    const { certFile, keyFile, caFile } = this.files;
    const ca = caFile ? { caCertificate: readFileSync(caFile) } : null;
    const identity =
      certFile && keyFile ? { certificate: readFileSync(certFile), privateKey: readFileSync(keyFile) } : null;
    this.ca = ca;
    this.identity = identity;
    this.seen = seen;
    return true;
  }

  private refresh(): void {
    try {
      if (!this.load()) return;
    } catch {
      return;
    }
    for (const listener of this.caListeners) listener(this.ca);
    for (const listener of this.identityListeners) listener(this.identity);
  }

  private watch(): void {
    if (this.timer || this.caListeners.size + this.identityListeners.size === 0) return;
    this.timer = setInterval(() => this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  private unwatch(): void {
    if (this.caListeners.size + this.identityListeners.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    // Next tick, as grpc-js expects: its server registers its own watcher only after adding ours.
    process.nextTick(() => this.caListeners.has(listener) && listener(this.ca));
    this.watch();
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.unwatch();
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    process.nextTick(() => this.identityListeners.has(listener) && listener(this.identity));
    this.watch();
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.unwatch();
  }
}
