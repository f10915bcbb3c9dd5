import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ChartSpec, PALETTE } from "./chart-spec.js";
import { lineChart } from "./line-chart.js";

/** The `<path>` elements of every mark container of `kind` (line, symbol) that vega drew for data. */
function markPaths(svg: string, kind: "line" | "symbol"): string[][] {
  const groups = svg.match(new RegExp(`<g class="mark-${kind} role-mark [^"]*"[^>]*>(.*?)</g>`, "g")) ?? [];
  return groups.map((group) => group.match(/<path [^>]*\/>/g) ?? []);
}

/** Texts of the elements with `role` (axis-title, title-text, title-subtitle, legend-label). */
function texts(svg: string, role: string): string[] {
  const groups = svg.match(new RegExp(`<g class="mark-text role-${role}"[^>]*>(.*?)</g>`, "g")) ?? [];
  return groups.flatMap((group) =>
    [...group.matchAll(/<text [^>]*>([^<]*)<\/text>/g)].map((m) => m[1] ?? ""),
  );
}

/** The vertices of an SVG path made of M/L commands. */
function vertices(path: string): Array<[number, number]> {
  const d = path.match(/ d="([^"]*)"/)?.[1] ?? "";
  return [...d.matchAll(/[ML](-?[\d.e-]+),(-?[\d.e-]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

const BASE: ChartSpec = {
  title: "Two series",
  xLabel: "latency (ms)",
  yLabel: "fraction of turns",
  series: [
    {
      name: "Chorus",
      color: PALETTE.blue,
      markers: true,
      points: [
        [1, 0.1],
        [2, 0.4],
        [3, 0.7],
        [4, 1],
      ],
    },
    {
      name: "Parsl HTEX",
      color: PALETTE.orange,
      dashed: true,
      points: [
        [2, 0],
        [5, 0.5],
        [9, 1],
      ],
    },
  ],
};

describe("line charts rendered by vega", () => {
  it("draws one line per series through every data point, and one dot per point where asked", async () => {
    const { svg, missing } = await lineChart(BASE);
    assert.deepEqual(missing, []);
    const lines = markPaths(svg, "line");
    assert.deepEqual(
      lines.map((paths) => paths.length),
      [1, 1],
    );
    assert.deepEqual(
      lines.map(([path]) => vertices(path ?? "").length),
      [4, 3],
    );
    const dots = markPaths(svg, "symbol");
    assert.deepEqual(
      dots.map((paths) => paths.length),
      [4],
      "Chorus has markers, Parsl none",
    );
  });

  it("colours and dashes each line as its series asks", async () => {
    const { svg } = await lineChart(BASE);
    const [chorus, parsl] = markPaths(svg, "line").map(([path]) => path ?? "");
    assert.match(chorus ?? "", /stroke="#1f77b4"/);
    assert.match(chorus ?? "", /stroke-dasharray="1,0"/);
    assert.match(parsl ?? "", /stroke="#e67814"/);
    assert.match(parsl ?? "", /stroke-dasharray="8,5"/);
  });

  it("writes the title, both axis titles and a legend entry per series", async () => {
    const { svg } = await lineChart(BASE);
    assert.deepEqual(texts(svg, "title-text"), ["Two series"]);
    assert.deepEqual(texts(svg, "axis-title").sort(), ["fraction of turns", "latency (ms)"]);
    assert.deepEqual(texts(svg, "legend-label"), ["Chorus", "Parsl HTEX"]);
  });

  it("spans the y axis from yMin at the bottom to yMax at the top", async () => {
    const { svg } = await lineChart({ ...BASE, yMin: 0, yMax: 1, height: 300 });
    const parsl = vertices(markPaths(svg, "line")[1]?.[0] ?? "");
    assert.equal(parsl[0]?.[1], 300, "y = 0 on the bottom edge");
    assert.equal(parsl[2]?.[1], 0, "y = 1 on the top edge");
  });

  it("draws a step series as a staircase of horizontal and vertical segments", async () => {
    const { svg } = await lineChart({
      ...BASE,
      series: [
        {
          name: "blocks",
          color: PALETTE.green,
          step: true,
          points: [
            [0, 1],
            [1, 2],
            [3, 4],
          ],
        },
      ],
    });
    const corners = vertices(markPaths(svg, "line")[0]?.[0] ?? "");
    assert.ok(corners.length > 3, "a staircase has more corners than points");
    for (let i = 1; i < corners.length; i += 1) {
      const [ax, ay] = corners[i - 1] ?? [0, 0];
      const [bx, by] = corners[i] ?? [0, 0];
      assert.ok(ax === bx || ay === by, `segment ${i} is horizontal or vertical`);
    }
  });

  it("reports a series without data in the result and the subtitle instead of dropping it silently", async () => {
    const spec: ChartSpec = {
      ...BASE,
      xLog: true,
      series: [
        ...BASE.series,
        { name: "bare gRPC echo", color: PALETTE.grey, points: [] },
        { name: "only zero latency", color: PALETTE.red, points: [[0, 0.5]] },
      ],
    };
    const { svg, missing } = await lineChart(spec);
    assert.deepEqual(missing, ["bare gRPC echo", "only zero latency"]);
    assert.deepEqual(texts(svg, "title-subtitle"), [
      "no data in this run: bare gRPC echo, only zero latency",
    ]);
    assert.equal(markPaths(svg, "line").length, 2, "the two series with data are still drawn");
  });

  it("labels a vertical marker line", async () => {
    const { svg } = await lineChart({ ...BASE, markers: [{ x: 2, label: "load step" }] });
    assert.match(svg, /<g class="mark-rule role-mark [^"]*"/);
    assert.match(svg, />load step<\/text>/);
  });
});
