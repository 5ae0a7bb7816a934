/** Runs `work` over items with at most `concurrency` at once; rejects with the first failure once all have stopped. */
export async function forEachConcurrently<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  await mapConcurrently(items, concurrency, work);
}

/** The results of `work` over items, in item order, with at most `concurrency` at once; rejects with the first failure once all have stopped. */
export async function mapConcurrently<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const outcomes = await mapSettledConcurrently(items, concurrency, work);
  const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure) throw failure.reason;
  return outcomes.map((outcome) => (outcome as PromiseFulfilledResult<R>).value);
}

/** Runs `work` over items with at most `concurrency` at once, and reports every outcome, in item order. */
export async function mapSettledConcurrently<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const outcomes: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      try {
        outcomes[index] = { status: 'fulfilled', value: await work(items[index]!) };
      } catch (reason) {
        outcomes[index] = { status: 'rejected', reason };
      }
    }
  });
  await Promise.all(workers);
  return outcomes;
}
