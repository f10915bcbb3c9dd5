import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TaskChannelRequest, TaskChannelResponseSchema } from "@chorus/proto";
import type { CallContext } from "@chorus/shared";
import type { AgentDeps } from "./agent-deps.js";
import { ReplicaChannel } from "./replica-channel.js";

/** The replica's open task channels: one per orchestrator (replica) that dispatches to it. */
export class TaskChannels {
  private readonly open = new Set<ReplicaChannel>();
  private closing = false;

  constructor(private readonly deps: AgentDeps) {}

  /** Serves one task channel for as long as its orchestrator keeps it open. */
  async *serve(
    requests: AsyncIterable<TaskChannelRequest>,
    context: CallContext,
  ): AsyncIterable<MessageInitShape<typeof TaskChannelResponseSchema>> {
    const channel = new ReplicaChannel(this.deps, context);
    this.open.add(channel);
    if (this.closing) channel.close();
    void channel.read(requests);
    try {
      yield* channel.outbox.messages();
    } finally {
      channel.stop();
      this.open.delete(channel);
    }
  }

  /**
   * For shutdown: every channel refuses new tasks and ends once its running tasks have finished,
   * so the server's graceful drain is not held up by streams that would never end by themselves.
   */
  close(): void {
    this.closing = true;
    for (const channel of this.open) channel.close();
  }
}
