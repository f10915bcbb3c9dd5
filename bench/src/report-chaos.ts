import type { ChaosSection } from "./section-chaos.js";

function n(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

const verdict = (met: boolean) => (met ? "met" : "**missed**");

/** The chaos section in markdown: the issue's targets, per fault kind, the SIGSTOP stalls, each window. */
export function chaosReport(chaos: ChaosSection | undefined): string {
  if (!chaos) return "";
  const [stall] = chaos.stalls;
  const targets = [
    [
      `chaos soak, ${chaos.durationS} s: 0 lost, 0 duplicated turns; failures only inside fault windows (+ ${chaos.graceMs} ms)`,
      `${chaos.lost} lost, ${chaos.duplicated} duplicated, ${chaos.mismatched} stored answers differing from the client's; ${chaos.failed} failed, ${chaos.failedOutside} outside the windows`,
      verdict(
        chaos.lost === 0 && chaos.duplicated === 0 && chaos.mismatched === 0 && chaos.failedOutside === 0,
      ),
    ],
    ...(stall
      ? [
          [
            `SIGSTOP one agent for ${stall.stopMs / 1000} s: p99 ≤ 2× the healthy p99 (${stall.variant})`,
            `${n(stall.stopped.p99)} ms ÷ ${n(stall.healthy.p99)} ms = ${n(stall.p99Ratio, 2)}×; replica ${stall.replaced ? "replaced" : "not replaced"}`,
            verdict(stall.p99Ratio <= 2 && stall.replaced),
          ],
        ]
      : []),
  ];
  const kinds = chaos.kinds.map((k) => [
    k.kind,
    String(k.count),
    String(k.unrecovered),
    String(k.failedTurns),
    n(k.recoverMeanMs),
    n(k.recoverMaxMs),
    String(k.during.n),
    n(k.during.p50),
    n(k.during.p99),
  ]);
  kinds.push([
    "outside every window",
    "",
    "",
    String(chaos.failedOutside),
    "",
    "",
    String(chaos.outside.n),
    n(chaos.outside.p50),
    n(chaos.outside.p99),
  ]);
  const stalls = chaos.stalls.map((s) => [
    s.variant,
    s.change,
    `${n(s.healthy.p50)} / ${n(s.healthy.p99)}`,
    `${n(s.stopped.p50)} / ${n(s.stopped.p99)} (max ${n(s.stopped.max)})`,
    `${n(s.p99Ratio, 2)}× (${n(s.stopped.p99 / chaos.outside.p99, 2)}× the soak's ${n(chaos.outside.p99)} ms outside windows)`,
    String(s.failed),
    s.replaced ? "yes" : "no",
    String(s.othersReplaced ?? "–"),
  ]);
  const windows = chaos.windows.map((w) => [
    n(w.atS, 1),
    w.kind,
    w.detail,
    `${n(w.recoverMs)}${w.recovered ? "" : " (not back)"}`,
  ]);
  const samples = chaos.outsideSamples.length
    ? `\nFailures outside the windows (first ${chaos.outsideSamples.length}):\n\n${chaos.outsideSamples.map((s) => `- ${s}`).join("\n")}\n`
    : "";
  return [
    `### Chaos soak (\`${chaos.profile}\`, ${chaos.rate} turns/s under \`chorus up\`: ${chaos.stallS ?? 0} s with one agent SIGSTOPped for ${stall ? stall.stopMs / 1000 : 0} s, then ${chaos.durationS} s with a random fault every ${chaos.faultEveryS} s)`,
    "",
    `${chaos.turns} turns with unique turn ids; clients retry a failed turn with the same id for up to ${chaos.retryForMs / 1000} s. ` +
      `${chaos.ok} answered, ${chaos.failed} failed, ${chaos.retried} retried (${chaos.replayed} answered from history), ${chaos.storedButFailed} stored though the client gave up. ` +
      `A window runs from the signal to the service back (restarted, SERVING, its pool whole, or the cache healthy); latency is per turn from first send to answer, retries included; a turn counts for every window it was in flight in.`,
    "",
    table(["target", "measured", ""], targets),
    "",
    table(
      [
        "fault",
        "count",
        "not back",
        "failed turns",
        "recover mean ms",
        "max ms",
        "turns in flight in windows",
        "p50 ms",
        "p99 ms",
      ],
      kinds,
    ),
    "",
    `One agent replica SIGSTOPped for ${stall ? stall.stopMs / 1000 : "–"} s at the same rate (p50 / p99 ms of the turns sent and answered before it, and of those sent while it was stopped):`,
    "",
    table(
      [
        "variant",
        "change",
        "healthy",
        "stopped",
        "p99 ratio",
        "failed",
        "replaced",
        "other replicas replaced",
      ],
      stalls,
    ),
    "",
    table(["at s", "fault", "what", "recovered in ms"], windows),
    samples,
  ].join("\n");
}
