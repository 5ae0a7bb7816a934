import { newestOf, type HotUpdateRecord } from './coalesce';
import type { HotStream, UpdateOrder } from './define-hot-stream';

/** The updates one execution environment holds for one input partition, newest per state key. */
export interface PartitionBuffer<U extends UpdateOrder> {
  readonly partition: number;
  readonly updates: ReadonlyMap<string, HotUpdateRecord<U>>;
  /** When the oldest update still held was buffered. */
  readonly since: number;
}

/**
 * The in-memory half of coalescing across batches: per input partition, the
 * newest update per state key since the partition was last stored. Only the
 * invocation that holds a partition takes its buffer, so a key is stored and
 * emitted by one invocation at a time, in order.
 */
export class WriteBehindBuffer<U extends UpdateOrder> {
  private readonly partitions = new Map<number, { updates: Map<string, HotUpdateRecord<U>>; since: number }>();

  constructor(
    private readonly stream: HotStream<U>,
    private readonly windowMs: number,
    /** A partition holding this many keys is stored before its window ends, to bound memory. */
    private readonly maxKeysPerPartition: number,
  ) {}

  add(records: readonly HotUpdateRecord<U>[], now: number): void {
    for (const record of records) {
      let held = this.partitions.get(record.partition);
      if (!held) {
        held = { updates: new Map(), since: now };
        this.partitions.set(record.partition, held);
      }
      const key = this.stream.stateKey(record.recordKey, record.update);
      held.updates.set(key, newestOf(this.stream, held.updates.get(key), record));
    }
  }

  /** True when a partition's window has ended or it holds too many keys. */
  isDue(partition: number, now: number): boolean {
    const held = this.partitions.get(partition);
    return held !== undefined && (now - held.since >= this.windowMs || held.updates.size >= this.maxKeysPerPartition);
  }

  /** Removes and returns what a partition holds. */
  take(partition: number): PartitionBuffer<U> | undefined {
    const held = this.partitions.get(partition);
    this.partitions.delete(partition);
    return held && { partition, updates: held.updates, since: held.since };
  }

  /** Holds updates again that could not be stored (newer ones buffered meanwhile win). */
  putBack(buffer: PartitionBuffer<U>, records: Iterable<HotUpdateRecord<U>>): void {
    this.add([...records], buffer.since);
    const held = this.partitions.get(buffer.partition);
    if (held) held.since = Math.min(held.since, buffer.since);
  }

  /** Partitions holding updates buffered before `before`. */
  heldSince(before: number): number[] {
    return [...this.partitions].filter(([, held]) => held.since < before).map(([partition]) => partition);
  }

  /** Keys held over all partitions, for metrics. */
  get size(): number {
    let size = 0;
    for (const held of this.partitions.values()) size += held.updates.size;
    return size;
  }
}
