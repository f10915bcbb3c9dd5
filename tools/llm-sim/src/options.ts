import type { ChorusConfig } from "@chorus/config";

/** Simulator knobs: the `simulator` section of chorus.yaml (after llm-d's inference simulator). */
export type SimulatorOptions = ChorusConfig["simulator"];
