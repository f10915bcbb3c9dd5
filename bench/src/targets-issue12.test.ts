import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RunRecord } from "./measure.js";
import type { ProfileSection } from "./section-profiles.js";
import type { StragglerPhase, StragglerSection } from "./section-straggler.js";
import { summarize } from "./stats.js";
import { issue12Targets } from "./targets-issue12.js";

function run(
  system: string,
  concurrency: number,
  perSecond: number,
  p50: number,
  cpu: Record<string, number>,
): RunRecord {
  return {
    system,
    profile: "zero",
    concurrency,
    mode: "closed",
    perSecond,
    latency: { ...summarize([p50]), p99: p50 },
    failed: 0,
    dropped: 0,
    errors: {},
    usage: {
      seconds: 1,
      machineBusyCores: 1,
      services: Object.entries(cpu).map(([service, cpuCores]) => ({
        service,
        processes: 1,
        cpuCores,
        rssMb: 1,
        maxRssMb: 1,
      })),
    },
    cdf: [],
  };
}

function phase(id: StragglerPhase["id"], p99: number): StragglerPhase {
  return {
    id,
    hedging: id === "straggler-hedged",
    run: run("chorus", 16, 50, p99, {}),
    hedges: { sent: 3, won: 2 },
    slowModel: { requests: 3, completed: 0, aborted: 3 },
  };
}

const zero: ProfileSection = {
  profile: "zero",
  // c=16: 100 turns/s over 0.4 cores of Chorus processes = 4 ms per turn; direct 0.2 cores at 200/s = 1 ms.
  chorus: [
    run("chorus", 1, 100, 6, {}),
    run("chorus", 16, 100, 60, {
      orchestrator: 0.1,
      "agent:a": 0.1,
      history: 0.1,
      "llm-sim": 0.05,
      "load-generator": 0.05,
    }),
    run("chorus", 64, 300, 200, {}),
  ],
  direct: [
    run("llm-direct", 1, 500, 2, {}),
    run("llm-direct", 16, 200, 5, { "llm-sim": 0.1, "load-generator": 0.1 }),
    run("llm-direct", 64, 600, 100, {}),
  ],
  echo: [],
  parsl: [run("parsl", 16, 40, 100, {}), run("parsl", 64, 50, 100, {})],
};

const straggler = {
  phases: [phase("healthy", 100), phase("straggler", 1000), phase("straggler-hedged", 120)],
} as unknown as StragglerSection;

describe("issue 12's targets", () => {
  const checks = issue12Targets({ profiles: [zero], autoscale: [], straggler, cores: 2 });
  const byStart = (start: string) => {
    const check = checks.find((c) => c.target.startsWith(start));
    assert.ok(check, `a target starting ${start}`);
    return check;
  };

  it("computes each ratio from the run and judges it against its limit", () => {
    assert.equal(byStart("zero, c=1: turn p50 ÷ direct p50").ratio, 3);
    assert.equal(byStart("zero, c=1: turn p50 ÷ direct p50").met, false);
    // The worse of c=16 (2.5×) and c=64 (6×) decides.
    assert.equal(byStart("zero: Chorus ÷ Parsl").ratio, 2.5);
    assert.equal(byStart("zero: Chorus ÷ Parsl").met, false);
    assert.equal(byStart("zero, c=64: Chorus ÷ direct turns/s").ratio, 0.5);
    assert.equal(byStart("zero, c=16: CPU per turn").ratio, 4);
    assert.match(
      byStart("zero, c=16: CPU per turn").measured,
      /orchestrator 1\.00, agents 1\.00, history 1\.00/,
    );
    assert.equal(byStart("straggler replica").ratio, 1.2);
    assert.equal(byStart("straggler replica").met, true);
    assert.match(
      byStart("straggler replica").measured,
      /unhedged 1000 ms = 10\.00×; 3 hedges sent, 2 won, 3 straggler copies cancelled/,
    );
  });

  it("leaves what the run did not measure unjudged", () => {
    assert.equal(byStart("fast, 8 replicas per pool").met, null);
    assert.equal(byStart("fast, local provider").met, null);
    const none = issue12Targets({ profiles: [], autoscale: [], cores: 2 });
    assert.ok(
      none.every((c) => c.met === null),
      JSON.stringify(none),
    );
  });

  it("counts failed turns over every section that ran", () => {
    assert.equal(byStart("failed turns").met, true);
    const failing = { ...zero, chorus: [{ ...zero.chorus[0], failed: 2 } as RunRecord] };
    const [failed] = issue12Targets({ profiles: [failing], autoscale: [], cores: 2 }).slice(-1);
    assert.equal(failed?.met, false);
    assert.match(failed?.measured ?? "", /^2 \(profiles 2\)/);
  });
});
