import type { z } from "zod";

function keyOf(path: readonly PropertyKey[]): string {
  return path
    .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
    .join("")
    .replace(/^\./, "");
}

function join(prefix: string, key: string): string {
  if (prefix === "") return key || "(root)";
  if (key === "") return prefix;
  return key.startsWith("[") ? `${prefix}${key}` : `${prefix}.${key}`;
}

/** One `key: message` line per zod issue, keys under `prefix`; each unknown key gets its own line. */
export function issueLines(prefix: string, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    const key = keyOf(issue.path);
    if (issue.code === "unrecognized_keys")
      return issue.keys.map((unknown) => `${join(prefix, join(key, unknown))}: unknown key`);
    if (issue.code === "invalid_type" && issue.expected === "object")
      return [`${join(prefix, key)}: must be a mapping`];
    return [`${join(prefix, key)}: ${issue.message}`];
  });
}
