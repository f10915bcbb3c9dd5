// The machine's gRPC limit: chorus.v1.ChatService served through the same shared bridge as the
// orchestrator, whose Chat only echoes the message back. Run as its own process by the bench.
// With ECHO_TLS_CERT/ECHO_TLS_KEY it serves TLS; with ECHO_TLS_CA too it requires a client
// certificate (mTLS); with ECHO_GUARD_NAME it also admits only that certificate name, as agents and
// history admit only the orchestrator.
import { ChatService } from "@chorus/proto";
import {
  bind,
  createLogger,
  orchestratorOnly,
  RpcError,
  serve,
  watchedServerCredentials,
} from "@chorus/shared";
import { status } from "@grpc/grpc-js";

const { ECHO_TLS_CERT, ECHO_TLS_KEY, ECHO_TLS_CA, ECHO_GUARD_NAME } = process.env;
const files = { cert_file: ECHO_TLS_CERT ?? "", key_file: ECHO_TLS_KEY ?? "", ca_file: ECHO_TLS_CA ?? "" };
const credentials = ECHO_TLS_CERT
  ? watchedServerCredentials(files, ECHO_TLS_CA ? "require" : "none", 60_000)
  : undefined;
const gatekeeper = ECHO_GUARD_NAME ? orchestratorOnly(ECHO_GUARD_NAME) : undefined;

const unimplemented = (): never => {
  throw new RpcError(status.UNIMPLEMENTED, "the echo server only implements Chat");
};

const log = createLogger("echo", "warn");
const server = await serve({
  host: "127.0.0.1",
  port: 0,
  log,
  credentials,
  gatekeeper,
  services: [
    bind(ChatService, {
      chat: async (request) => ({ conversationId: request.conversationId, answer: request.message }),
      chatStream: async function* () {
        yield unimplemented();
      },
      batch: async function* () {
        yield unimplemented();
      },
      getStats: async () => unimplemented(),
      getStatus: async () => unimplemented(),
      watchScaling: async function* () {
        yield unimplemented();
      },
      scalePool: async () => unimplemented(),
    }),
  ],
});
process.stdout.write(`echo: ready at ${server.address}\n`);
const stop = () => void server.close(1000).then(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
