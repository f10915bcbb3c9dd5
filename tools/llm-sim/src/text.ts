import { hashString, mulberry32, pick, type Random } from "./prng.js";

/** What the simulated answer depends on: the same input always gives the same words. */
export interface TextInput {
  readonly seed: number;
  readonly systemPrompt: string;
  readonly userMessage: string;
}

const STOPWORDS = new Set(
  "about above after again also because been before being below between both could does doing down during each from further have having here into itself just more most only other over same should some such than that their them then there these they this those through under until very were what when where which while will with would your yours".split(
    " ",
  ),
);

const NOUNS = [
  "trade-offs",
  "examples",
  "constraints",
  "context",
  "evidence",
  "assumptions",
  "details",
  "patterns",
  "risks",
  "options",
] as const;

const ADJECTIVES = ["simulated", "short", "careful", "plain", "practical", "tentative"] as const;

/** The persona named in a system prompt ("You are a creative assistant" gives "creative"). */
export function personaOf(systemPrompt: string): string {
  const match = /\byou are (?:an?|the)\s+([a-z][\w-]*)/i.exec(systemPrompt);
  return match?.[1]?.toLowerCase() ?? "assistant";
}

/** Up to `max` distinct content words of a message, in order of appearance. */
export function keywordsOf(message: string, max = 3): string[] {
  const words = message.toLowerCase().match(/[a-z][a-z0-9'-]{3,}/g) ?? [];
  const keywords: string[] = [];
  for (const word of words) {
    if (STOPWORDS.has(word) || keywords.includes(word)) continue;
    keywords.push(word);
    if (keywords.length === max) break;
  }
  return keywords;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? "an" : "a";
}

function listOf(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? "";
  return `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

function sentence(random: Random, persona: string, keywords: readonly [string, ...string[]]): string {
  const keyword = pick(random, keywords);
  const noun = () => pick(random, NOUNS);
  const templates = [
    () => `A ${persona} view of ${keyword} starts with ${noun()} and ${noun()}.`,
    () => `This ${pick(random, ADJECTIVES)} reply is simulated, so read ${keyword} as a placeholder topic.`,
    () => `Consider how ${keyword} relates to ${noun()}, ${noun()} and ${noun()}.`,
    () => `In short, ${keyword} depends on ${noun()} more than on ${noun()}.`,
    () => `A real model would say more about ${keyword}; this one only simulates ${noun()}.`,
  ] as const;
  return pick(random, templates)();
}

/** Exactly `count` words of deterministic, plainly simulated English for `input`. */
export function simulatedWords(input: TextInput, count: number): string[] {
  const random = mulberry32(hashString(input.userMessage, hashString(input.systemPrompt, input.seed)));
  const persona = personaOf(input.systemPrompt);
  const [first = "your question", ...rest] = keywordsOf(input.userMessage);
  const keywords: [string, ...string[]] = [first, ...rest];
  const role = persona === "assistant" ? "an assistant" : `${article(persona)} ${persona} assistant`;
  const opening = `[simulated] As ${role}, here is a simulated answer about ${listOf(keywords)}.`;
  const words = opening.split(" ");
  while (words.length < count) words.push(...sentence(random, persona, keywords).split(" "));
  return words.slice(0, count);
}
