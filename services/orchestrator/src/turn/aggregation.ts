import { Aggregation } from "@chorus/proto";

/** The outcome of one agent task, as aggregation sees it. */
export interface TaskOutcome {
  readonly agent: string;
  readonly ok: boolean;
  readonly text: string;
  /** Order of completion among the turn's tasks, from 0. */
  readonly finishedOrder: number;
}

/** The aggregated answer and which agents it came from. */
export interface Aggregated {
  readonly answer: string;
  readonly answeredBy: string[];
}

/** The answer given when no agent succeeded, as the seed workflow did. */
export const APOLOGY = "I'm sorry, none of the agents could answer right now. Please try again.";

/** Aggregation modes by config name. */
export const aggregationByName: Record<string, Aggregation> = {
  priority: Aggregation.PRIORITY,
  fastest: Aggregation.FASTEST,
  all: Aggregation.ALL,
  quorum: Aggregation.QUORUM,
  judge: Aggregation.JUDGE,
};

/** Lower-case name of an aggregation mode. */
export function aggregationName(mode: Aggregation): string {
  return Aggregation[mode]?.toLowerCase() ?? "unspecified";
}

const none = (): Aggregated => ({ answer: APOLOGY, answeredBy: [] });

/** The first successful answer in agent order (the seed's rule). */
export function priority(outcomes: readonly TaskOutcome[]): Aggregated {
  const first = outcomes.find((outcome) => outcome.ok);
  return first ? { answer: first.text, answeredBy: [first.agent] } : none();
}

/** The first successful answer to arrive. */
export function fastest(outcomes: readonly TaskOutcome[]): Aggregated {
  const ok = outcomes.filter((outcome) => outcome.ok).sort((a, b) => a.finishedOrder - b.finishedOrder);
  const first = ok[0];
  return first ? { answer: first.text, answeredBy: [first.agent] } : none();
}

/** Every successful answer in agent order, each under its agent's name. */
export function all(outcomes: readonly TaskOutcome[]): Aggregated {
  const ok = outcomes.filter((outcome) => outcome.ok);
  if (ok.length === 0) return none();
  return {
    answer: ok.map((outcome) => `[${outcome.agent}]\n${outcome.text}`).join("\n\n"),
    answeredBy: ok.map((outcome) => outcome.agent),
  };
}

/** The successful answers that arrived first, up to `size`, labelled in agent order. */
export function quorum(outcomes: readonly TaskOutcome[], size: number): Aggregated {
  const chosen = new Set(
    outcomes
      .filter((outcome) => outcome.ok)
      .sort((a, b) => a.finishedOrder - b.finishedOrder)
      .slice(0, size)
      .map((outcome) => outcome.agent),
  );
  return all(outcomes.filter((outcome) => chosen.has(outcome.agent)));
}

/** The prompt a judge agent gets: the question and the other agents' answers. */
export function judgePrompt(message: string, outcomes: readonly TaskOutcome[]): string {
  const answers = outcomes
    .filter((outcome) => outcome.ok)
    .map((outcome) => `Answer from ${outcome.agent}:\n${outcome.text}`)
    .join("\n\n");
  return `Several assistants answered the question below. Write the single best final answer, combining their strengths and correcting their mistakes.\n\nQuestion:\n${message}\n\n${answers}`;
}

/** True once enough outcomes are in for `mode` to answer without waiting for the rest. */
export function isSettled(
  mode: Aggregation,
  outcomes: readonly TaskOutcome[],
  total: number,
  quorumSize: number,
): boolean {
  const succeeded = outcomes.filter((outcome) => outcome.ok).length;
  if (outcomes.length === total) return true;
  if (mode === Aggregation.FASTEST) return succeeded >= 1;
  if (mode === Aggregation.QUORUM) return succeeded >= Math.min(quorumSize, total);
  return false;
}
