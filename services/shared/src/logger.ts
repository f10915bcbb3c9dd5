import { type Logger, pino } from "pino";

/** A JSON logger for one service; LOG_LEVEL sets the level (default info). */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ name: service, level, base: { service, pid: process.pid } });
}

export type { Logger };
