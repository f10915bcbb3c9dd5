import { request } from "node:http";
import { connect } from "node:net";
import { Client, credentials, Metadata } from "@grpc/grpc-js";
import type { V1Container, V1Probe } from "@kubernetes/client-node";

/** Runs a command inside the pod's network namespace; resolves with its exit code. */
export type ExecInPod = (command: string[], timeoutMs: number) => Promise<number>;

/** A container port given by number or by name. */
function portOf(container: V1Container, port: number | string): number {
  if (typeof port === "number") return port;
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`no container port named ${port}`);
  return named.containerPort;
}

/** grpc.health.v1.Health/Check against host:port; true if SERVING. */
export function grpcHealthCheck(
  host: string,
  port: number,
  service: string,
  timeoutMs: number,
): Promise<boolean> {
  // HealthCheckRequest { string service = 1; }, HealthCheckResponse { ServingStatus status = 1; } (SERVING = 1).
  const serialize = (s: string) => {
    const bytes = Buffer.from(s, "utf8");
    return bytes.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
  };
  const deserialize = (b: Buffer) => (b.length >= 2 && b[0] === 0x08 ? (b[1] ?? 0) : 0);
  // A local subchannel pool makes close() end the connection now, like a kubelet's one-shot probe;
  // the global pool would keep it open for later clients that never come.
  const client = new Client(`${host}:${port}`, credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
  });
  return new Promise<boolean>((resolve) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      serialize,
      deserialize,
      service,
      new Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, value) => resolve(!err && value === 1),
    );
  }).finally(() => client.close());
}

/** True if a TCP connection to host:port opens within the timeout. */
export function tcpCheck(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("timeout", () => done(false));
    socket.once("error", () => done(false));
  });
}

function httpCheck(host: string, port: number, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, timeout: timeoutMs }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400);
    });
    req.once("timeout", () => req.destroy());
    req.once("error", () => resolve(false));
    req.end();
  });
}

/** Runs one probe attempt (grpc, tcpSocket, httpGet or exec) against the pod. */
export async function probeOnce(
  probe: V1Probe,
  container: V1Container,
  podIp: string,
  exec: ExecInPod,
): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.grpc) return await grpcHealthCheck(podIp, probe.grpc.port, probe.grpc.service ?? "", timeoutMs);
    if (probe.tcpSocket) return await tcpCheck(podIp, portOf(container, probe.tcpSocket.port), timeoutMs);
    if (probe.httpGet) {
      return await httpCheck(
        podIp,
        portOf(container, probe.httpGet.port),
        probe.httpGet.path ?? "/",
        timeoutMs,
      );
    }
    if (probe.exec) return (await exec(probe.exec.command ?? [], timeoutMs)) === 0;
  } catch {
    return false;
  }
  return false;
}

/** Outcome of a probe loop: flips when successThreshold/failureThreshold consecutive results agree. */
export class ProbeState {
  private successes = 0;
  private failures = 0;
  passing = false;

  constructor(private readonly probe: V1Probe) {}

  /** Records one result; returns true if `passing` changed. */
  record(ok: boolean): boolean {
    const before = this.passing;
    if (ok) {
      this.failures = 0;
      this.successes++;
      if (this.successes >= (this.probe.successThreshold ?? 1)) this.passing = true;
    } else {
      this.successes = 0;
      this.failures++;
      if (this.failures >= (this.probe.failureThreshold ?? 3)) this.passing = false;
    }
    return before !== this.passing;
  }

  /** True once failureThreshold consecutive failures were seen. */
  get failed(): boolean {
    return this.failures >= (this.probe.failureThreshold ?? 3);
  }
}
