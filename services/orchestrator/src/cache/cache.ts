/** A cached agent answer. */
export interface CachedAnswer {
  readonly text: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** The response cache; implementations never throw on outage, they report a miss. */
export interface Cache {
  /** The cached answer for `key`, or undefined on a miss or outage. */
  get(key: string): Promise<CachedAnswer | undefined>;
  /** Stores `answer` under `key` for the configured TTL; failures are swallowed and counted. */
  set(key: string, answer: CachedAnswer): Promise<void>;
  /** Health for GetStatus. */
  status(): { healthy: boolean; detail: string };
  /** Releases connections. */
  close(): Promise<void>;
}
