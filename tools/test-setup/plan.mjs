// Turns what a machine lacks into gaps: each with the command that fills it, and whether we may run it here.
import { DEFAULT_CACHE } from "./machine.mjs";
import { REQUIREMENTS } from "./requirements.mjs";

/**
 * @typedef {{
 *   ids: string[],
 *   names: string[],
 *   kind: "apt" | "manual" | "script",
 *   command: string,
 *   runnable: boolean,
 *   why?: string,
 *   packages?: string[],
 *   script?: string,
 *   takes?: string,
 * }} Gap
 * `command` is what a person runs to fill the gap; `runnable` says provisioning can run it here,
 * and `why` says why not.
 * @typedef {{ cache: string, missing: string[], gaps: Gap[] }} Plan
 */

/**
 * Detects which requirements the machine lacks and plans each: one apt-get for all Debian
 * packages (root only), the scripts once what they need is there or planned, the rest by hand.
 * @returns {Plan}
 */
export function makePlan(machine, requirements = REQUIREMENTS) {
  const byId = new Map(requirements.map((req) => [req.id, req]));
  const checked = new Map();
  const isMissing = (req) => {
    if (!checked.has(req.id)) checked.set(req.id, !req.present(machine));
    return checked.get(req.id);
  };
  const missing = requirements.filter((req) => {
    const dependents = (req.onlyFor ?? []).map((id) => byId.get(id)).filter(Boolean);
    return (dependents.length === 0 || dependents.some(isMissing)) && isMissing(req);
  });

  const gaps = [];
  const apt = missing.filter((req) => "apt" in req.install);
  if (apt.length > 0) gaps.push(aptGap(machine, apt));
  for (const req of missing.filter((r) => "manual" in r.install)) {
    gaps.push({
      ids: [req.id],
      names: [req.name],
      kind: "manual",
      command: req.install.manual,
      runnable: false,
      why: "not installed by npm test",
    });
  }
  const coming = new Set(gaps.filter((gap) => gap.runnable).flatMap((gap) => gap.ids));
  const cacheEnv = machine.cache === DEFAULT_CACHE ? "" : `CHORUS_CACHE=${machine.cache} `;
  for (const req of missing.filter((r) => "script" in r.install)) {
    const blockers = req.install.needs
      .map((id) => byId.get(id))
      .filter((need) => need && isMissing(need) && !coming.has(need.id));
    const gap = {
      ids: [req.id],
      names: [req.name],
      kind: "script",
      command: `${cacheEnv}bash ${req.install.script}`,
      runnable: blockers.length === 0,
      script: req.install.script,
      ...(req.install.takes ? { takes: req.install.takes } : {}),
      ...(blockers.length > 0 ? { why: `needs ${blockers.map((b) => b.name).join(", ")} first` } : {}),
    };
    if (gap.runnable) coming.add(req.id);
    gaps.push(gap);
  }
  return { cache: machine.cache, missing: missing.map((req) => req.id), gaps };
}

/** One gap for every missing Debian package: apt-get runs only as root. */
function aptGap(machine, reqs) {
  const packages = reqs.map((req) => req.install.apt);
  const sudo = machine.isRoot ? "" : "sudo ";
  let why;
  if (!machine.isRoot) why = "not root, so apt-get cannot run";
  else if (!machine.onPath("apt-get")) why = "apt-get is not on PATH (not Debian?)";
  return {
    ids: reqs.map((req) => req.id),
    names: reqs.map((req) => req.name),
    kind: "apt",
    command: `${sudo}apt-get update && ${sudo}apt-get install -y ${packages.join(" ")}`,
    runnable: why === undefined,
    packages,
    ...(why ? { why } : {}),
  };
}

/**
 * The one message for a plan that cannot be completed: every missing piece with the command
 * that installs it, and the failed step's report when one failed.
 */
export function explain(plan, failure) {
  const lines = [`test-setup: no tests were run.${plan.gaps.length > 0 ? " Missing:" : ""}`];
  for (const gap of plan.gaps) {
    const note = failure ? "" : gap.runnable ? "npm test does this itself once the rest is there" : gap.why;
    lines.push(`  - ${gap.names.join(", ")}${note ? ` (${note})` : ""}:`, `      ${gap.command}`);
  }
  if (failure) lines.push(failure);
  lines.push("Then run `npm test` again.");
  return lines.join("\n");
}
