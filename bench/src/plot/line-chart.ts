import { parse, View } from "vega";
import { compile } from "vega-lite";
import { type ChartSpec, chartSpec, missingSeries } from "./chart-spec.js";

/** A rendered chart, and the series it was asked for but had no data to draw. */
export interface Chart {
  readonly svg: string;
  readonly missing: string[];
}

/** Renders `spec` to SVG with vega's headless view (no canvas, no browser). */
export async function lineChart(spec: ChartSpec): Promise<Chart> {
  const view = new View(parse(compile(chartSpec(spec)).spec), { renderer: "none" });
  try {
    return { svg: await view.toSVG(), missing: missingSeries(spec) };
  } finally {
    view.finalize();
  }
}
