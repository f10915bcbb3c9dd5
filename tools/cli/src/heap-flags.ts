/**
 * The Node flags that bound a service process's V8 old space at `heapMb` (none for 0). Without a
 * ceiling V8 sizes the heap from the machine's memory and lets it grow to about four times the live
 * data between collections; near a ceiling it collects sooner instead.
 */
export function heapFlags(heapMb: number): string[] {
  return heapMb > 0 ? [`--max-old-space-size=${heapMb}`] : [];
}
