/**
 * The join benchmark's workload, shared by the orchestrator and the runner process:
 * the join (items ⋈ flyers, as in the example domain), its pipeline, and the
 * records of each phase, generated from a seed so both sides of a comparison get
 * the very same records.
 */
import { defineJoin, type FkJoin, type JoinType } from '../../../shared/fk-join';
import { definePipeline, type Pipeline } from '../../../shared/pipeline';
import { seededRandom } from '../../../shared/random';
import { NOOP_HANDLER_ENTRY } from '../../support/integration';

export interface Item {
  readonly n: number;
  readonly flyerId: string;
  readonly pad?: string;
}
export interface Flyer {
  readonly title: string;
}
export type ItemWithFlyer = { item: Item; flyer: Flyer | null };

export interface WorkloadSize {
  readonly leftRows: number;
  readonly rightRows: number;
  readonly rightUpdates: number;
  /** Approximate bytes of each left value (a `pad` field fills it up). */
  readonly valueBytes: number;
}

export const DEFAULT_SIZE: WorkloadSize = {
  leftRows: Number(process.env.BENCH_JOIN_LEFT_ROWS ?? 2_000),
  rightRows: Number(process.env.BENCH_JOIN_RIGHT_ROWS ?? 50),
  rightUpdates: Number(process.env.BENCH_JOIN_RIGHT_UPDATES ?? 100),
  valueBytes: 200,
};

/** The benchmark's join: the same declaration for the runner process and the driver. */
export function benchJoin(prefix: string, type: JoinType): FkJoin<Item, Flyer, ItemWithFlyer> {
  return defineJoin<Item, Flyer, ItemWithFlyer>({
    name: `${prefix}-items-with-flyer`,
    type,
    leftTopic: `${prefix}.items`,
    rightTopic: `${prefix}.flyers`,
    outputTopic: `${prefix}.items-with-flyer`,
    deadLetterTopic: `${prefix}.dlq`,
    foreignKey: (item) => item.flyerId,
    joiner: (item, flyer) => ({ item, flyer }),
  });
}

/** Batches of up to 500 records, as an MSK event source mapping is commonly configured. */
export function benchPipeline(join: FkJoin, batchSize = 500): Pipeline {
  return definePipeline({
    name: join.name,
    topics: [
      { name: join.leftTopic, kind: 'entity', partitions: 3 },
      { name: join.rightTopic, kind: 'entity', partitions: 3 },
      { name: join.outputTopic, kind: 'entity', partitions: 3 },
      { name: join.deadLetterTopic, kind: 'dead-letter', partitions: 1 },
    ],
    joins: [{ join, handler: { entry: NOOP_HANDLER_ENTRY }, eventSource: { batchSize, maximumBatchingWindowMs: 100 } }],
  });
}

export interface Message {
  readonly key: string;
  readonly value: string | null;
}

export interface Phases {
  readonly rightLoad: Message[];
  /** Unmeasured left rows of other keys, so that both sides are measured warm (JIT-compiled, connections open). */
  readonly warmUp: Message[];
  readonly leftLoad: Message[];
  readonly fkChanges: Message[];
  readonly fanOut: Message[];
}

/** Skewed: a few flyers hold most items, as in a real catalogue. */
function skewedFlyer(random: () => number, rightRows: number): string {
  return `f${Math.floor(rightRows * random() ** 3)}`;
}

/** An item's JSON, padded (a `pad` field) to about `valueBytes`. */
export function itemJson(n: number, flyerId: string, valueBytes: number): string {
  const bare = JSON.stringify({ n, flyerId } satisfies Item);
  return bare.length >= valueBytes ? bare : JSON.stringify({ n, flyerId, pad: 'x'.repeat(valueBytes - bare.length - 9) } satisfies Item);
}

/** The records of every phase; the same seed gives the same records. */
export function phaseRecords(size: WorkloadSize = DEFAULT_SIZE, seed = 7): Phases {
  const random = seededRandom(seed);
  const rightLoad = Array.from({ length: size.rightRows }, (_, f) => ({ key: `f${f}`, value: JSON.stringify({ title: `flyer ${f}` }) }));
  const warmUp = Array.from({ length: size.leftRows }, (_, n) => ({
    key: `warm-${n}`,
    value: itemJson(n, skewedFlyer(random, size.rightRows), size.valueBytes),
  }));
  const leftLoad = Array.from({ length: size.leftRows }, (_, n) => ({
    key: `i${n}`,
    value: itemJson(n, skewedFlyer(random, size.rightRows), size.valueBytes),
  }));
  const fkChanges = Array.from({ length: size.leftRows }, (_, n) => ({
    key: `i${n}`,
    value: itemJson(n + 1, skewedFlyer(random, size.rightRows), size.valueBytes),
  }));
  const fanOut = Array.from({ length: size.rightUpdates }, (_, u) => ({
    key: skewedFlyer(random, size.rightRows),
    value: JSON.stringify({ title: `flyer rev ${u}` }),
  }));
  return { rightLoad, warmUp, leftLoad, fkChanges, fanOut };
}

/** What the output topic must end with: the join of the final left and right rows. */
export function expectedFinalOutputs(type: JoinType, phases: Phases): Map<string, string | null> {
  const flyers = new Map<string, string>();
  for (const { key, value } of [...phases.rightLoad, ...phases.fanOut]) if (value !== null) flyers.set(key, value);
  const items = new Map<string, string>();
  for (const { key, value } of [...phases.warmUp, ...phases.leftLoad, ...phases.fkChanges]) if (value !== null) items.set(key, value);
  const expected = new Map<string, string | null>();
  for (const [key, value] of items) {
    const flyer = flyers.get((JSON.parse(value) as Item).flyerId) ?? null;
    expected.set(key, flyer === null && type === 'inner' ? null : `{"item":${value},"flyer":${flyer ?? 'null'}}`);
  }
  return expected;
}
