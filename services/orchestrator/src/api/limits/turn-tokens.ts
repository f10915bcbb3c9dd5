/** The parts of a ChatResponse that say how many model tokens a turn used. */
export interface TurnTokens {
  /** A replayed turn was answered from history: it used no tokens now. */
  readonly replayed?: boolean | undefined;
  readonly agentAnswers?:
    | readonly {
        readonly cached?: boolean | undefined;
        readonly promptTokens?: number | undefined;
        readonly completionTokens?: number | undefined;
      }[]
    | undefined;
}

/** Model tokens a finished turn used: prompt plus completion of every answer not served from the cache. */
export function tokensOfTurn(response: TurnTokens): number {
  if (response.replayed) return 0;
  let tokens = 0;
  for (const answer of response.agentAnswers ?? []) {
    if (!answer.cached) tokens += (answer.promptTokens ?? 0) + (answer.completionTokens ?? 0);
  }
  return tokens;
}
