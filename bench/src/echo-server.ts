// The machine's gRPC limit: chorus.v1.ChatService served through the same shared bridge as the
// orchestrator, whose Chat only echoes the message back. Run as its own process by the bench.
import { ChatService } from "@chorus/proto";
import { bind, createLogger, RpcError, serve } from "@chorus/shared";
import { status } from "@grpc/grpc-js";

const unimplemented = (): never => {
  throw new RpcError(status.UNIMPLEMENTED, "the echo server only implements Chat");
};

const log = createLogger("echo", "warn");
const server = await serve({
  host: "127.0.0.1",
  port: 0,
  log,
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
