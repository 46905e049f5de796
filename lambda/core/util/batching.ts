/**
 * Batching helpers shared by the engines: pure splitting, plus a bounded-concurrency map that keeps
 * fleet-scale fan-out (hundreds of SendCommand / listing calls) from bursting the APIs.
 */

/** Splits `items` into consecutive chunks of at most `size` (size ≥ 1); order preserved. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Groups items by a key in one pass (O(N)); groups keep input order. */
export function groupBy<T, K>(items: Iterable<T>, key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const g = out.get(k);
    if (g) g.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/**
 * Maps `fn` over `items` with at most `limit` calls in flight; results in input order. Like
 * `Promise.allSettled`, every item runs even when some fail; the first failure is rethrown at the end.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let firstError: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (error) {
        firstError ??= { error };
      }
    }
  };
  const n = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  if (firstError) throw firstError.error;
  return results;
}
