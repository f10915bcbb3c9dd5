// Builds the vega-lite spec of a bench line chart; rendering it is `line-chart.ts`'s job.
import type { TopLevelSpec } from "vega-lite";

/** One line of a chart. */
export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  /** A CSS colour, e.g. "#1f77b4". */
  readonly color: string;
  /** Draw as a staircase (value holds until the next point), as block counts do. */
  readonly step?: boolean;
  readonly dashed?: boolean;
  /** Mark each point with a dot. */
  readonly markers?: boolean;
}

/** A line chart. */
export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Every series the chart should show; one without points is reported as missing, not dropped silently. */
  readonly series: readonly Series[];
  readonly xLog?: boolean;
  readonly xMin?: number;
  readonly xMax?: number;
  readonly yMin?: number;
  readonly yMax?: number;
  /** Vertical marker lines with labels, e.g. the load step. */
  readonly markers?: ReadonlyArray<{ x: number; label: string }>;
  readonly width?: number;
  readonly height?: number;
  /** Corner of the plot area the legend sits in (default top-right). */
  readonly legend?: "top-left" | "top-right" | "bottom-right";
}

/** Colours that stay apart on white (Tableau 10). */
export const PALETTE = {
  blue: "#1f77b4",
  orange: "#e67814",
  green: "#2ca02c",
  red: "#d62728",
  purple: "#9467bd",
  grey: "#787878",
} as const;

const DASH = [8, 5];
const SOLID = [1, 0];

/** The points of `series` a chart can draw: finite, and positive on a log axis. */
export function drawablePoints(series: Series, xLog = false): Array<[number, number]> {
  return series.points
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!xLog || x > 0))
    .map(([x, y]) => [x, y]);
}

/** Names of the series in `spec` that have no point to draw. */
export function missingSeries(spec: ChartSpec): string[] {
  return spec.series.filter((s) => drawablePoints(s, spec.xLog).length === 0).map((s) => s.name);
}

/** The vega-lite spec of `spec`: one line layer per series, dots where asked, labelled marker rules. */
export function chartSpec(spec: ChartSpec): TopLevelSpec {
  const shown = spec.series.filter((s) => drawablePoints(s, spec.xLog).length > 0);
  const missing = missingSeries(spec);
  const rows = shown.flatMap((s) =>
    drawablePoints(s, spec.xLog).map(([x, y], order) => ({ series: s.name, x, y, order })),
  );
  const legend = {
    title: null,
    orient: spec.legend ?? "top-right",
    symbolSize: 500,
    symbolStrokeWidth: 3,
    labelFontSize: 12,
    labelLimit: 400,
    fillColor: "#ffffffdd",
    padding: 6,
  } as const;
  const domain = shown.map((s) => s.name);
  const color = {
    field: "series",
    type: "nominal",
    scale: { domain, range: shown.map((s) => s.color) },
    legend,
  } as const;
  const strokeDash = {
    field: "series",
    type: "nominal",
    scale: { domain, range: shown.map((s) => (s.dashed ? DASH : SOLID)) },
    legend,
  } as const;
  const x = {
    field: "x",
    type: "quantitative",
    title: spec.xLabel,
    scale: {
      ...(spec.xLog ? { type: "log" } : { type: "linear", zero: false }),
      ...(spec.xMin === undefined ? {} : { domainMin: spec.xMin }),
      ...(spec.xMax === undefined ? {} : { domainMax: spec.xMax }),
    },
  } as const;
  const y = {
    field: "y",
    type: "quantitative",
    title: spec.yLabel,
    scale: {
      clamp: true,
      ...(spec.yMin === undefined ? {} : { domainMin: spec.yMin }),
      ...(spec.yMax === undefined ? {} : { domainMax: spec.yMax }),
    },
  } as const;
  const lines = shown.map((s) => ({
    transform: [{ filter: { field: "series", equal: s.name } }],
    mark: { type: "line", strokeWidth: 2.5, interpolate: s.step ? "step-after" : "linear" },
    encoding: { x, y, color, strokeDash, order: { field: "order", type: "quantitative" } },
  }));
  const dots = shown
    .filter((s) => s.markers)
    .map((s) => ({
      transform: [{ filter: { field: "series", equal: s.name } }],
      mark: { type: "point", filled: true, size: 60, opacity: 1, color: s.color },
      encoding: { x, y },
    }));
  const rules = (spec.markers ?? []).flatMap((m) => [
    {
      data: { values: [m] },
      mark: { type: "rule", color: PALETTE.grey, strokeDash: [6, 4], strokeWidth: 1.5 },
      encoding: { x: { field: "x", type: "quantitative" } },
    },
    {
      data: { values: [m] },
      mark: { type: "text", color: PALETTE.grey, align: "right", baseline: "top", dx: -5, y: 6 },
      encoding: { x: { field: "x", type: "quantitative" }, text: { field: "label" } },
    },
  ]);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: spec.title,
      ...(missing.length ? { subtitle: `no data in this run: ${missing.join(", ")}` } : {}),
    },
    width: spec.width ?? 800,
    height: spec.height ?? 420,
    data: { values: rows },
    layer: [...lines, ...dots, ...rules],
    config: { font: "sans-serif", axis: { labelFontSize: 12, titleFontSize: 13 } },
  } as TopLevelSpec;
}
