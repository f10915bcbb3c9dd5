import { issueLines } from "./issues.js";
import { scalingSettingsSchema } from "./scaling.js";

/** Lists what is wrong with a whole scaling settings object, each message naming its key; empty when valid. */
export function validateScalingSettings(value: unknown, prefix = "scaling"): string[] {
  const parsed = scalingSettingsSchema.safeParse(value);
  return parsed.success ? [] : issueLines(prefix, parsed.error.issues);
}
