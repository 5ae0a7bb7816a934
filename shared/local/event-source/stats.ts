/** Counters of one event source mapping, for the live view, tests and benchmarks. */
export interface EventSourceMappingStats {
  /** Records read from the broker (a redelivery after a restart counts again). */
  recordsFetched: number;
  /** Records the function handled successfully. */
  recordsSucceeded: number;
  invocations: number;
  /** Invocations that threw, timed out, returned an invalid response or reported failed items. */
  failedInvocations: number;
  /** Records written to the on-failure destination. */
  recordsDeadLettered: number;
  /** Records discarded after exhausting retries with no destination (AWS's behaviour; the pipeline declaration forbids it). */
  recordsDiscarded: number;
  lastError: string | undefined;
  /** Times a partition's fetching was paused because its function fell far behind. */
  backpressurePauses: number;
  /** Per partition: the next offset to commit, and how many fetched records wait for the function. */
  readonly partitions: Map<number, { committedOffset: number | undefined; queued: number }>;
}

export function emptyStats(): EventSourceMappingStats {
  return {
    recordsFetched: 0,
    recordsSucceeded: 0,
    invocations: 0,
    failedInvocations: 0,
    recordsDeadLettered: 0,
    recordsDiscarded: 0,
    lastError: undefined,
    backpressurePauses: 0,
    partitions: new Map(),
  };
}
