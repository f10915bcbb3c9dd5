import { setTimeout as delay } from "node:timers/promises";
import { ChatService, type ScalingEvent } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";

/** Collects a running mesh's scaling events through WatchScaling, for tests. */
export class ScalingWatcher {
  readonly events: ScalingEvent[] = [];
  private readonly client: PromiseClient<typeof ChatService>;
  private readonly controller = new AbortController();
  private readonly done: Promise<void>;

  constructor(address: string) {
    const client = createClient(ChatService, address);
    this.client = client;
    this.done = (async () => {
      try {
        for await (const event of client.watchScaling({}, { signal: this.controller.signal })) {
          this.events.push(event);
        }
      } catch {
        // Ends with CANCELLED when the test stops watching.
      }
    })();
  }

  /** The reasons seen so far, in order. */
  reasons(): string[] {
    return this.events.map((event) => event.reason);
  }

  /** Waits (at most `timeoutMs`) for an event matching `match`; returns it, or throws listing what came. */
  async waitFor(
    what: string,
    match: (event: ScalingEvent) => boolean,
    timeoutMs = 60_000,
  ): Promise<ScalingEvent> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const found = this.events.find(match);
      if (found) return found;
      await delay(50);
    }
    throw new Error(`no scaling event ${what} in ${timeoutMs} ms; saw: ${this.describe()}`);
  }

  /** The events so far, one short line each, for failure messages. */
  describe(): string {
    return this.events.map((e) => `${e.reason} ${e.blocksBefore}->${e.blocksAfter}`).join(", ");
  }

  /** Stops watching. */
  async stop(): Promise<void> {
    this.controller.abort();
    await this.done;
    this.client.close();
  }
}
