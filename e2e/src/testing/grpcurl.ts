import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { BUILD_COMMAND, binDir } from "@chorus/testenv";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** grpcurl from $GRPCURL, else PATH, else the testenv cache that build.sh fills; undefined if none. */
function findGrpcurl(): string | undefined {
  if (process.env.GRPCURL) return process.env.GRPCURL;
  const onPath = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  return [...onPath, binDir()].map((dir) => join(dir, "grpcurl")).find(executable);
}

/** The grpcurl binary; fails the calling test (never skips it) when there is none. */
export function requireGrpcurl(): string {
  const bin = findGrpcurl();
  assert.ok(
    bin && executable(bin),
    `grpcurl not found or not executable ($GRPCURL=${process.env.GRPCURL ?? ""}, PATH, ${binDir()}): ` +
      `npm test builds it there with \`${BUILD_COMMAND}\` and puts that dir on PATH`,
  );
  return bin;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs grpcurl against the address (killed after 30 s) and resolves with its output; plaintext
 * unless `transport` gives TLS flags (-cacert ...) and headers (-H ...).
 */
export function grpcurl(
  bin: string,
  address: string,
  args: string[],
  data?: string,
  transport: readonly string[] = ["-plaintext"],
): Promise<Run> {
  const flags = [...transport, "-connect-timeout", "10", "-max-time", "25"];
  const argv = [...flags, ...(data === undefined ? [] : ["-d", data]), address, ...args];
  return new Promise((resolve) => {
    execFile(bin, argv, { timeout: 30_000, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stdout, stderr: error && code === null ? `${stderr}\n${error.message}` : stderr });
    });
  });
}

/** Splits grpcurl's output of pretty-printed JSON messages (each closed by a `}` line) into objects. */
export function messages(stdout: string): Record<string, unknown>[] {
  const objects: Record<string, unknown>[] = [];
  let chunk: string[] = [];
  for (const line of stdout.split("\n")) {
    chunk.push(line);
    if (line === "}") {
      objects.push(JSON.parse(chunk.join("\n")) as Record<string, unknown>);
      chunk = [];
    }
  }
  assert.equal(chunk.join("").trim(), "", `trailing output that is not a message: ${chunk.join("\n")}`);
  return objects;
}
