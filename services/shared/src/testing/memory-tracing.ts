import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { registerTracing } from "../tracing/setup.js";

/** The OpenTelemetry SDK registered in this test process, its spans kept in memory. */
export interface MemoryTracing {
  /** Every span ended since the last reset, in the order they ended. */
  spans(): ReadableSpan[];
  reset(): void;
  stop(): Promise<void>;
}

/** Registers the SDK as startTracing does (W3C propagation, AsyncLocalStorage), exporting to memory. */
export function startMemoryTracing(): MemoryTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  registerTracing(provider);
  return {
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    stop: () => provider.shutdown(),
  };
}
