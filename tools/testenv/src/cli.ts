// Manual use: `node --import tsx tools/testenv/src/cli.ts up` starts the test control plane and
// kubelet, prints how to reach it, and tears everything down on Ctrl-C / SIGTERM.
import { binDir } from "./binaries.js";
import { down, up } from "./testenv.js";

async function main(): Promise<number> {
  const command = process.argv[2];
  if (command === "bin") {
    process.stdout.write(`${binDir()}\n`);
    return 0;
  }
  if (command !== "up") {
    process.stderr.write("usage: cli.ts up | bin\n");
    return 2;
  }
  const env = await up({
    cleanupOnSignal: false,
    log: (message) => process.stderr.write(`[testenv] ${message}\n`),
  });
  process.stdout.write(
    [
      `export KUBECONFIG=${env.kubeconfig}`,
      `export PATH=${env.binDir}:$PATH`,
      `# apiserver ${env.server}; pods on ${env.podCidr} (host is ${env.hostIp}); logs in ${env.dir}/logs`,
      "# Ctrl-C (or SIGTERM) stops everything",
      "",
    ].join("\n"),
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await down(env);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`testenv: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
