import type { ChatService, GetStatusResponse } from "@chorus/proto";
import type { PromiseClient } from "@chorus/shared";

const POLL_MS = 500;
const WIDTH = 30;

/** Each pool's running blocks, with pending ones as "+N", e.g. "creative 3+1, analytical 2". */
export function poolBlocks(status: GetStatusResponse): string {
  return status.pools
    .map((p) => {
      const running = p.blocksByState.RUNNING ?? 0;
      const pending = p.blocksByState.PENDING ?? 0;
      return `${p.agent} ${running}${pending > 0 ? `+${pending}` : ""}`;
    })
    .join(", ");
}

/** The progress bar of /batch, with the pools' block counts so their growth shows as it runs. */
export class BatchProgress {
  private done = 0;
  private ok = 0;
  private failed = 0;
  private blocks = "";
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;

  constructor(
    private readonly chat: PromiseClient<typeof ChatService>,
    private readonly total: number,
    private readonly out: NodeJS.WritableStream,
  ) {}

  /** Starts refreshing the block counts from GetStatus. */
  start(): void {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), POLL_MS);
  }

  private refresh(): void {
    // One GetStatus at a time: a slow orchestrator must not pile up calls.
    if (this.polling) return;
    this.polling = true;
    this.chat
      .getStatus({}, { deadline: new Date(Date.now() + 2 * POLL_MS) })
      .then((status) => {
        this.blocks = poolBlocks(status);
        this.render();
      })
      .catch(() => {})
      .finally(() => {
        this.polling = false;
      });
  }

  /** Counts one finished item. */
  item(success: boolean): void {
    this.done += 1;
    if (success) this.ok += 1;
    else this.failed += 1;
    this.render();
  }

  private render(): void {
    if (this.stopped) return;
    const filled = this.total === 0 ? WIDTH : Math.round((this.done / this.total) * WIDTH);
    const bar = `[${"#".repeat(filled)}${".".repeat(WIDTH - filled)}]`;
    const blocks = this.blocks ? `  blocks: ${this.blocks}` : "";
    // On a terminal, \x1b[K clears what a longer previous line left behind.
    const clear = (this.out as { isTTY?: boolean }).isTTY ? "\x1b[K" : "";
    this.out.write(
      `\r${bar} ${this.done}/${this.total}  ok ${this.ok}  failed ${this.failed}${blocks}${clear}`,
    );
  }

  /** Stops refreshing. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}
