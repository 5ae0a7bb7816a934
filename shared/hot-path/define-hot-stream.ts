import { JSON_VALUE_FORMAT, type ValueFormat } from '../schemas/value-format';
import { HotPathError, InvalidUpdateError } from './errors';

/** Where an update stands in its source's order: newer version wins, then newer source timestamp. */
export interface UpdateOrder {
  readonly version: number;
  readonly sourceTimestamp: number;
}

/**
 * A high-frequency stream (price, stock): keyed updates that are coalesced,
 * applied to a hot state that only moves forward, and emitted as slim deltas at
 * most once per interval per key, with a trailing guarantee.
 */
export interface HotStreamDeclaration<U extends UpdateOrder> {
  /** Unique in the pipeline; names the consumer and the state table. */
  readonly name: string;
  /** Event topic of updates, keyed by item id. */
  readonly inputTopic: string;
  /** Event topic of the slim delta events (the hot path's core topic). */
  readonly outputTopic: string;
  /** Dead-letter topic for updates that do not parse, or that the hot state refuses for good. */
  readonly deadLetterTopic: string;
  /** At most one delta per key per this interval; the latest value always follows within it. */
  readonly minEmitIntervalMs: number;
  /** Parses and validates an update's JSON value. @throws InvalidUpdateError */
  parse(value: unknown): U;
  /** The hot state's key for an update: the record key, or a finer one (item and store). */
  stateKey(recordKey: string, update: U): string;
  /** True when two updates carry the same observable value (an update equal to the stored one changes nothing). */
  sameValue(a: U, b: U): boolean;
  /** Updates that must never wait for the interval, e.g. stock reaching zero. @default never */
  passThrough?(previous: U | null, next: U): boolean;
  /**
   * True for an update that may turn out to be a pass-through, judged without
   * the previous value. Such updates skip the write-behind buffer and are
   * stored at once. Required with `passThrough` when `coalesceWindowMs` > 0.
   */
  mayPassThrough?(next: U): boolean;
  /**
   * Coalesces across batches too: each execution environment keeps the newest
   * update per key in memory for up to this long before storing it, so a hot
   * key costs one DynamoDB write per window instead of one per batch. Nothing
   * is lost when an environment goes away: the input topic serves as the
   * changelog — every batch's offset range is recorded (one write per batch)
   * and, if it is not stored within a few windows, the partition's consumer
   * reads it again from the topic. Needs input retention far longer than the
   * window. 0 coalesces within a batch only. @default 0
   */
  readonly coalesceWindowMs?: number;
  /**
   * What a newer update of the same batch keeps from an older one it supersedes
   * in coalescing, e.g. an urgent flag on the same price re-sent without it.
   * @default the newer update as it is
   */
  carryOver?(superseded: U, survivor: U): U;
  /**
   * How much each emission says. `delta` (the default): only the slim delta on
   * the output topic. `delta-and-entity`: also the key's full current value on
   * a compacted entity topic, at the same rate-limited cadence, so a Core Event
   * join can take it as an input and refresh the full enriched event.
   */
  readonly verbosity?: HotStreamVerbosity;
  /**
   * How the input and output topics lay out values on the wire (e.g. Avro in
   * the Confluent wire format); `parse` sees JSON either way, and an input the
   * format cannot read is dead-lettered with the reason.
   * @default JSON on both
   */
  readonly formats?: { readonly input?: ValueFormat; readonly output?: ValueFormat; readonly entity?: ValueFormat };
}

export type HotStreamVerbosity = { readonly mode: 'delta' } | { readonly mode: 'delta-and-entity'; readonly entityTopic: string };

export type HotStream<U extends UpdateOrder = UpdateOrder> = HotStreamDeclaration<U> & {
  passThrough(previous: U | null, next: U): boolean;
  mayPassThrough(next: U): boolean;
  readonly coalesceWindowMs: number;
  carryOver(superseded: U, survivor: U): U;
  readonly verbosity: HotStreamVerbosity;
  readonly formats: { readonly input: ValueFormat; readonly output: ValueFormat; readonly entity: ValueFormat };
};

const NAME = /^[a-zA-Z0-9._-]{1,100}$/;
/** A buffer held longer than this would make a lost environment's updates wait too long for their replay. */
const MAX_COALESCE_WINDOW_MS = 15 * 60_000;

export function defineHotStream<U extends UpdateOrder>(declaration: HotStreamDeclaration<U>): HotStream<U> {
  if (!NAME.test(declaration.name))
    throw new HotPathError(`hot stream name "${declaration.name}" must be 1–100 letters, digits, ".", "_" or "-"`);
  if (!Number.isInteger(declaration.minEmitIntervalMs) || declaration.minEmitIntervalMs < 0) {
    throw new HotPathError(`hot stream "${declaration.name}": minEmitIntervalMs must be a whole number of milliseconds ≥ 0`);
  }
  const coalesceWindowMs = declaration.coalesceWindowMs ?? 0;
  if (!Number.isInteger(coalesceWindowMs) || coalesceWindowMs < 0 || coalesceWindowMs > MAX_COALESCE_WINDOW_MS) {
    throw new HotPathError(
      `hot stream "${declaration.name}": coalesceWindowMs must be a whole number of milliseconds from 0 to ${MAX_COALESCE_WINDOW_MS}`,
    );
  }
  if (coalesceWindowMs > 0 && declaration.passThrough && !declaration.mayPassThrough) {
    throw new HotPathError(
      `hot stream "${declaration.name}": with coalesceWindowMs, a passThrough needs mayPassThrough too, so pass-through candidates skip the buffer`,
    );
  }
  return Object.freeze({
    ...declaration,
    coalesceWindowMs,
    passThrough: declaration.passThrough ?? (() => false),
    mayPassThrough: declaration.mayPassThrough ?? (() => false),
    carryOver: declaration.carryOver ?? ((_superseded: U, survivor: U) => survivor),
    verbosity: declaration.verbosity ?? { mode: 'delta' as const },
    formats: {
      input: declaration.formats?.input ?? JSON_VALUE_FORMAT,
      output: declaration.formats?.output ?? JSON_VALUE_FORMAT,
      entity: declaration.formats?.entity ?? JSON_VALUE_FORMAT,
    },
  });
}

/** True when `candidate` is newer than `current` in source order (offset breaks ties, see coalesce). */
export function isNewerUpdate(candidate: UpdateOrder, current: UpdateOrder | undefined): boolean {
  if (current === undefined) return true;
  if (candidate.version !== current.version) return candidate.version > current.version;
  return candidate.sourceTimestamp > current.sourceTimestamp;
}

/** The environment variable that carries a hot stream's state table name to its handler. */
export function hotStateTableVariable(streamName: string): string {
  return `${streamName.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}_HOT_STATE_TABLE_NAME`;
}

/**
 * The environment variable (`true`) that tells a hot stream's handler its event
 * source mapping takes partial batch responses (`ReportBatchItemFailures`). Set
 * by whoever sets the mapping setting, with it: a handler that reports failures
 * to a mapping that ignores them would have the records named skipped.
 */
export function reportBatchItemFailuresVariable(streamName: string): string {
  return `${streamName.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}_REPORT_BATCH_ITEM_FAILURES`;
}

/** The sparse index of keys whose latest value still waits to be emitted, per input partition. */
export const PENDING_INDEX = { name: 'pending', partitionKey: 'pendingPartition', sortKey: 'dueAt' } as const;

/** A field of an update as read from its topic (`unknown` until parsed), or undefined when the value is no object. */
export function fieldOf(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
}

/** Reads the order every hot update carries: `version` (a whole number ≥ 0) and `sourceTimestamp` (epoch ms). @throws InvalidUpdateError */
export function parseUpdateOrder(value: unknown): UpdateOrder {
  const version = fieldOf(value, 'version');
  const sourceTimestamp = fieldOf(value, 'sourceTimestamp');
  if (!Number.isSafeInteger(version) || (version as number) < 0) throw new InvalidUpdateError('version must be a whole number ≥ 0');
  if (!Number.isSafeInteger(sourceTimestamp)) throw new InvalidUpdateError('sourceTimestamp must be epoch milliseconds');
  return { version: version as number, sourceTimestamp: sourceTimestamp as number };
}
