import { type BlockEvent, type BlockState, TERMINAL_STATES } from "../block-event.js";

/**
 * Reports one pool's blocks to the scaler: each pod's state when it changes, and placeholder
 * blocks (`<deployment>/requested-N`, PENDING) for replicas whose pods do not exist yet.
 */
export class BlockReporter {
  private readonly reported = new Map<string, { state: BlockState; address: string | undefined }>();
  private placeholders: string[] = [];
  private sequence = 0;

  constructor(
    private readonly pool: string,
    private readonly deployment: string,
    private readonly emit: (event: BlockEvent) => void,
  ) {}

  /** Reports a pod's state (and address, when RUNNING) if either changed. */
  pod(name: string, state: BlockState, address: string | undefined, detail?: string): void {
    const last = this.reported.get(name);
    // A block reported ended stays ended: a failed pod that is later removed was already let go.
    if (last && TERMINAL_STATES.has(last.state) && (state === "DRAINING" || TERMINAL_STATES.has(state))) {
      if (state === "CANCELLED") this.reported.delete(name);
      return;
    }
    if (state === "CANCELLED") this.reported.delete(name);
    else this.reported.set(name, { state, address });
    if (last && last.state === state && (state !== "RUNNING" || last.address === address)) return;
    const routed = state === "RUNNING" ? address : undefined;
    this.emit({ blockId: name, pool: this.pool, state, address: routed, detail });
  }

  /** Reports every pod no longer present as CANCELLED. */
  forgetGone(present: (name: string) => boolean): void {
    for (const name of [...this.reported.keys()])
      if (!present(name)) this.pod(name, "CANCELLED", undefined, "pod deleted");
  }

  /** The placeholders standing now, oldest first. */
  get standing(): readonly string[] {
    return this.placeholders;
  }

  /** Adds or ends placeholders (oldest first) until `count` stand. */
  placeholdersTo(count: number): void {
    while (this.placeholders.length > count) {
      const id = this.placeholders.shift() ?? "";
      this.emit({ blockId: id, pool: this.pool, state: "CANCELLED", detail: "a pod took its place" });
    }
    while (this.placeholders.length < count) {
      this.sequence += 1;
      const id = `${this.deployment}/requested-${this.sequence}`;
      this.placeholders.push(id);
      this.emit({ blockId: id, pool: this.pool, state: "PENDING", detail: "replica requested" });
    }
  }

  /** Ends the placeholder `id`; false if it is not one. */
  cancelPlaceholder(id: string): boolean {
    const index = this.placeholders.indexOf(id);
    if (index < 0) return false;
    this.placeholders.splice(index, 1);
    this.emit({ blockId: id, pool: this.pool, state: "CANCELLED", detail: "cancelled" });
    return true;
  }
}
