const OLD_SPACE_FLAG = "--max-old-space-size";

/**
 * `execArgv` with its V8 old-space ceiling set to `heapMb` (removed for 0), replacing any it
 * inherited. Without a ceiling V8 sizes the heap from the machine's memory and lets it grow to about
 * four times the live data between collections; near a ceiling it collects sooner instead.
 */
export function withHeapCeiling(execArgv: readonly string[], heapMb: number): string[] {
  const kept = execArgv.filter((flag) => !flag.startsWith(`${OLD_SPACE_FLAG}=`));
  return heapMb > 0 ? [...kept, `${OLD_SPACE_FLAG}=${heapMb}`] : kept;
}
