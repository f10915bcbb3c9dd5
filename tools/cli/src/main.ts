import { existsSync, renameSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadConfigOrExit, withInsecureFlag } from "@chorus/config";
import { ask, stats, statusCommand } from "./client-commands.js";
import { type Target, type TlsFlags, targetOf } from "./connection.js";
import { healthCommand } from "./health-command.js";
import { historyMigrateCommand } from "./history-migrate-command.js";
import { keysCommand } from "./keys-command.js";
import { startMesh } from "./mesh.js";
import { configPath, orchestratorAddress } from "./options.js";
import { runRepl } from "./repl.js";
import { scaleLog, scalePool } from "./scaling-commands.js";
import {
  agentCommand,
  historyCommand,
  orchestratorCommand,
  type ServiceFlags,
  simulatorCommand,
} from "./service-commands.js";

const USAGE = `usage: chorus <command> [--config FILE] [options]

  chat                 start the mesh and chat (or --address HOST:PORT to join a running one)
  up                   start the mesh (history, simulator, orchestrator, agents) and wait; restarts
                       a service that dies (config: supervisor) [--pids-file FILE: its pids as JSON]
  ask "MESSAGE"        one turn [--json] [--conversation ID] [--agents a,b] [--aggregation MODE] [--turn-id ID]
  stats                statistics [--json]
  health ADDRESS...    grpc.health.v1 check of each address; exit 0 only if all are SERVING [--service NAME]
  status               component health, pool blocks and scaling settings [--json]
  scale-log            scaling events: recent ones, then live until Ctrl-C [--pool P] [--json] [--no-follow]
  scale POOL N         set a pool's blocks by hand (its strategy goes on from N) [--json]
  keys create          a new API key, printed once, and its keys-file entry: --principal NAME
                       --roles user[,operator,admin] [--expires 30d|ISO] [--rpm N] [--tpm N] [--concurrent N]
  llm-sim              the built-in OpenAI-compatible simulator
  history | orchestrator | agent
                       run one service (used by 'up'; --port, --host, --metrics-port)
  history migrate      copy a SQLite history into PostgreSQL: --from FILE [--to URL, else
                       $CHORUS_HISTORY_DATABASE_URL or $DATABASE_URL]; idempotent, prints counts

  --insecure           (up, chat and the services) allow listening beyond loopback without TLS
                       or authentication; without it such a service refuses to start

Client commands (chat --address, ask, stats, status, scale-log, scale, health) reach the orchestrator
at --address, $CHORUS_ADDRESS, or the config's host:port; over TLS with [--tls] [--cacert FILE]
(or $CHORUS_CACERT) [--cert FILE --key FILE] [--server-name NAME]; with an API key from
$CHORUS_API_KEY (never a flag, so it stays out of process listings and shell history).`;

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: "string" },
    address: { type: "string" },
    json: { type: "boolean", default: false },
    host: { type: "string" },
    port: { type: "string" },
    "metrics-port": { type: "string" },
    agent: { type: "string" },
    "replica-id": { type: "string" },
    "history-address": { type: "string" },
    conversation: { type: "string" },
    agents: { type: "string" },
    aggregation: { type: "string" },
    "turn-id": { type: "string" },
    pool: { type: "string" },
    "no-follow": { type: "boolean", default: false },
    service: { type: "string" },
    tls: { type: "boolean", default: false },
    cacert: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    "server-name": { type: "string" },
    principal: { type: "string" },
    roles: { type: "string" },
    expires: { type: "string" },
    rpm: { type: "string" },
    tpm: { type: "string" },
    concurrent: { type: "string" },
    insecure: { type: "boolean", default: false },
    "pids-file": { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

const tlsFlags: TlsFlags = {
  tls: flags.tls,
  cacert: flags.cacert,
  cert: flags.cert,
  key: flags.key,
  serverName: flags["server-name"],
};

/** The orchestrator at `address`, with the TLS flags and $CHORUS_API_KEY. */
const target = (address: string): Target => targetOf(address, tlsFlags);

// Written whole, then renamed: a reader never sees half a file.
function writePidsFile(path: string, pids: Record<string, number | undefined>): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(pids)}\n`);
  renameSync(`${path}.tmp`, path);
}

async function upOrChat(interactive: boolean, file: string | undefined): Promise<void> {
  const config = withInsecureFlag(loadConfigOrExit(file), flags.insecure);
  if (interactive && flags.address) {
    await runRepl(target(flags.address));
    return;
  }
  let stopping = false;
  const pidsFile = flags["pids-file"];
  const mesh = await startMesh({
    config,
    configFile: file,
    insecure: flags.insecure ?? false,
    logsToFiles: interactive,
    onNotice: (line) => process.stderr.write(`chorus: ${line}\n`),
    onCrashLoop: () => process.exit(1),
    onPids: pidsFile ? (pids) => writePidsFile(pidsFile, pids) : undefined,
  });
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await mesh.stop();
    process.exit(code);
  };
  process.once("SIGINT", () => void stop(0));
  process.once("SIGTERM", () => void stop(0));
  const model = config.llm.base_url
    ? config.llm.base_url
    : `simulated (chorus llm-sim at ${mesh.llmBaseUrl})`;
  if (!interactive) {
    process.stdout.write(`chorus: ready at ${mesh.address} (model: ${model})\n`);
    return;
  }
  process.stdout.write(`Model: ${model}. Service logs: ${mesh.logDir}\n`);
  await runRepl(target(mesh.address));
  await stop(0);
}

async function main(): Promise<number | undefined> {
  const command = positionals[0];
  if (!command || flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const file = configPath(flags.config, existsSync);
  const serviceFlags = flags as unknown as ServiceFlags;
  switch (command) {
    case "up":
      return void (await upOrChat(false, file));
    case "chat":
      return void (await upOrChat(true, file));
    case "ask": {
      const message = positionals.slice(1).join(" ");
      const config = loadConfigOrExit(file);
      return ask(target(orchestratorAddress(flags.address, config)), message, {
        json: flags.json ?? false,
        conversation: flags.conversation,
        agents: flags.agents,
        aggregation: flags.aggregation,
        turnId: flags["turn-id"],
      });
    }
    case "stats":
      return stats(target(orchestratorAddress(flags.address, loadConfigOrExit(file))), flags.json ?? false);
    case "health":
      return healthCommand(positionals.slice(1), flags.service ?? "", tlsFlags);
    case "status":
      return statusCommand(
        target(orchestratorAddress(flags.address, loadConfigOrExit(file))),
        flags.json ?? false,
      );
    case "scale-log":
      return scaleLog(target(orchestratorAddress(flags.address, loadConfigOrExit(file))), {
        pool: flags.pool,
        json: flags.json ?? false,
        follow: !flags["no-follow"],
      });
    case "scale": {
      const address = orchestratorAddress(flags.address, loadConfigOrExit(file));
      return scalePool(target(address), positionals[1] ?? "", positionals[2], flags.json ?? false);
    }
    case "keys":
      return keysCommand(positionals.slice(1), flags);
    case "llm-sim":
      return void (await simulatorCommand(
        withInsecureFlag(loadConfigOrExit(file), flags.insecure),
        serviceFlags,
      ));
    case "history":
      if (positionals[1] === "migrate") return historyMigrateCommand(flags.from, flags.to);
      return void (await historyCommand(
        withInsecureFlag(loadConfigOrExit(file), flags.insecure),
        serviceFlags,
      ));
    case "agent":
      return void (await agentCommand(
        withInsecureFlag(loadConfigOrExit(file), flags.insecure),
        serviceFlags,
      ));
    case "orchestrator":
      return void (await orchestratorCommand(
        withInsecureFlag(loadConfigOrExit(file), flags.insecure),
        file,
        serviceFlags,
      ));
    default:
      process.stderr.write(`chorus: unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

main().then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`chorus: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
