import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure, MeteredDocumentClient, type DynamoDbUsage } from '../dynamodb';
import { formatTraceparent, parseTraceparent, type InputTrace } from '../tracing';
import { PENDING_INDEX, type UpdateOrder } from './define-hot-stream';
import { HotStateTableError, UpdateRefusedError } from './errors';
import { MAX_UPDATE_BYTES, whyUnstorableOrder } from './storable-update';

/**
 * One item per state key (pk):
 *   value, version, sourceTimestamp          the newest applied update (JSON)
 *   emittedValue, emittedVersion, emittedAt  the last delta published
 *   pendingPartition, dueAt                  set while the newest value may still need emitting; a sparse
 *                                            index over them lets a partition's consumer find due keys
 *   traceparent, tracestate, traceStarted    the trace of the newest update (W3C; traceStarted when the hot
 *                                            stream started it), written with the update, for its delta
 */
export interface HotState<U extends UpdateOrder> {
  readonly key: string;
  readonly value: U;
  /** Offset of the stored update in its input partition. */
  readonly sourceOffset: number;
  readonly emittedValue: U | null;
  /** Source offset of the update last emitted; equal to `sourceOffset` once the stored update is out. */
  readonly emittedOffset: number | undefined;
  /** True when the last emission was claimed before publishing and never confirmed after: it may be lost. */
  readonly emissionClaimed: boolean;
  readonly emittedAt: number | undefined;
  /** Present while the key waits for emission; the input partition (`<topic>-<partition>`) owning it. */
  readonly pendingPartition: string | undefined;
  readonly dueAt: number | undefined;
  /** The trace of the stored update, for its delta; undefined for an item stored without one (the delta starts a trace). */
  readonly trace: InputTrace | undefined;
}

/**
 * The offsets of one input partition that one execution environment holds in
 * its write-behind buffer, not yet stored. Kept in the state table under a key
 * no state key can take (record keys starting with U+0000 are refused), and
 * listed in the pending index of its partition from `replayAt` on, so the
 * partition's consumer finds it if the environment never stores its buffer.
 */
export interface BufferedRange {
  readonly topic: string;
  readonly partition: number;
  readonly environmentId: string;
  readonly fromOffset: number;
  readonly toOffset: number;
  /** Bumped by every write; a release only deletes the revision it saw. */
  readonly revision: number;
}

const BUFFERED_RANGE_PREFIX = '\u0000buffered\u0000';

/** True for the key of a {@link BufferedRange} item, as listed by {@link HotStateStore.duePending}. */
export function isBufferedRangeKey(key: string): boolean {
  return key.startsWith(BUFFERED_RANGE_PREFIX);
}

function bufferedRangeKey(range: Pick<BufferedRange, 'topic' | 'partition' | 'environmentId'>): string {
  return `${BUFFERED_RANGE_PREFIX}${range.topic}-${range.partition}\u0000${range.environmentId}`;
}

export type ApplyOutcome<U extends UpdateOrder> =
  | { readonly outcome: 'applied'; readonly state: HotState<U> }
  /** The same update is already stored: a redelivery; its emission may still be owed. */
  | { readonly outcome: 'redelivered'; readonly state: HotState<U> }
  /** A newer update is stored; this one is ignored. */
  | { readonly outcome: 'stale' };

/** Newer than the stored update: by source version, then source timestamp, then offset. */
const NEWER_THAN_STORED =
  'attribute_not_exists(pk) OR version < :version OR (version = :version AND sourceTimestamp < :ts) ' +
  'OR (version = :version AND sourceTimestamp = :ts AND sourceOffset < :offset)';

/** Stores an update as the key's newest; both writes that store one start with it. */
const STORE_UPDATE = 'SET #value = :value, version = :version, sourceTimestamp = :ts, sourceOffset = :offset';

/** The item's attributes that hold the stored update's trace. */
const TRACE_ATTRIBUTES = { traceparent: 'traceparent', tracestate: 'tracestate', started: 'traceStarted' } as const;

/**
 * What stores an update's trace beside it, in the same write: `traceparent`
 * (55 bytes), `tracestate` when it came with one, `traceStarted` when the hot
 * stream started the trace. What the new update has not is removed, so an item
 * never holds a trace that is not its update's.
 */
function storedTrace(trace: InputTrace | undefined): { set: string; remove: string[]; values: Record<string, unknown> } {
  const { traceparent, tracestate, started } = TRACE_ATTRIBUTES;
  if (trace === undefined) return { set: '', remove: [traceparent, tracestate, started], values: {} };
  const state = trace.context.traceState;
  return {
    set:
      `, ${traceparent} = :traceparent` +
      (state === undefined ? '' : `, ${tracestate} = :tracestate`) +
      (trace.carried ? '' : `, ${started} = :traceStarted`),
    remove: [...(state === undefined ? [tracestate] : []), ...(trace.carried ? [started] : [])],
    values: {
      ':traceparent': formatTraceparent(trace.context),
      ...(state === undefined ? {} : { ':tracestate': state }),
      ...(trace.carried ? {} : { ':traceStarted': true }),
    },
  };
}

/** The trace an item holds for its update; undefined for one stored without it (or with one that does not parse). */
function traceOfItem(item: Record<string, unknown>): InputTrace | undefined {
  const text = (name: string) => (typeof item[name] === 'string' ? (item[name] as string) : undefined);
  const context = parseTraceparent(text(TRACE_ATTRIBUTES.traceparent), text(TRACE_ATTRIBUTES.tracestate));
  return context && { context, carried: item[TRACE_ATTRIBUTES.started] !== true };
}

/**
 * The values that store an update, refused here when no retry could store them:
 * numbers the document client would refuse with a plain Error, and updates
 * larger than an item takes (see MAX_UPDATE_BYTES). Keys are left to DynamoDB.
 * @throws UpdateRefusedError
 */
function storedUpdateValues(key: string, update: UpdateOrder, offset: number): Record<string, unknown> {
  const order = whyUnstorableOrder(update);
  if (order) throw new UpdateRefusedError(key, order);
  const json = JSON.stringify(update);
  // A UTF-16 unit is at most 3 UTF-8 bytes: only an update near the limit needs its bytes counted.
  if (json.length * 3 > MAX_UPDATE_BYTES && Buffer.byteLength(json) > MAX_UPDATE_BYTES) {
    throw new UpdateRefusedError(
      key,
      `it is ${Buffer.byteLength(json)} bytes as stored, more than a hot-state item takes (${MAX_UPDATE_BYTES}; an item holds two updates)`,
    );
  }
  return { ':value': json, ':version': update.version, ':ts': update.sourceTimestamp, ':offset': offset };
}

/** The two writes that store an update; a refused one is checked against a probe of the same kind. */
type StoringWrite = 'apply' | 'applyAndClaim';

/** The state key probes write under: no record key can take it (keys starting with U+0000 are refused), nor any partition. */
const PROBE_KEY = '\u0000probe';
const PROBE_UPDATE: UpdateOrder = { version: 0, sourceTimestamp: 0 };
/** A probe writes a trace as an update does: the same shape. */
const PROBE_TRACE: InputTrace = {
  context: { traceId: '0000000000000000000000000000000f', parentId: '000000000000000f', flags: 0 },
  carried: true,
};
/** How long a probe that went through vouches for the table. */
const PROBE_VALID_MS = 60_000;

/** DynamoDB's answer to a request it will never take as it is. */
function isValidationError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ValidationException';
}

/** The DynamoDB operations of a hot stream: single-item conditional writes, strongly consistent reads. */
export class HotStateStore<U extends UpdateOrder> {
  private readonly metered: MeteredDocumentClient;
  /** When a probe of each write last went through. */
  private readonly probedAt = new Map<StoringWrite, number>();

  constructor(
    documents: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.metered = new MeteredDocumentClient(documents);
  }

  get usage(): DynamoDbUsage {
    return this.metered.usage;
  }

  /**
   * Stores an update if it is newer than the stored one — by source version,
   * then source timestamp, then offset (a state key always comes from one
   * partition) — and marks the key pending, due one interval after its last emission.
   * The update's trace is written in the same request (no trace: the item's is removed), so whichever
   * invocation later emits the update continues its trace.
   * @throws UpdateRefusedError when no retry could store it (the record is dead-lettered);
   *   HotStateTableError when the table refuses well-formed writes too
   */
  async apply(
    key: string,
    update: U,
    offset: number,
    partition: string,
    minEmitIntervalMs: number,
    trace?: InputTrace,
  ): Promise<ApplyOutcome<U>> {
    const command = this.applyCommand(key, update, offset, partition, minEmitIntervalMs, trace);
    try {
      const output = await this.metered.send(command);
      return { outcome: 'applied', state: toState<U>(output.Attributes!) };
    } catch (error) {
      if (!isConditionFailure(error)) throw await this.refusal(error, key, 'apply');
      const stored = await this.get(key);
      return stored?.sourceOffset === offset ? { outcome: 'redelivered', state: stored } : { outcome: 'stale' };
    }
  }

  /**
   * Stores an update and claims its emission in the same write, for a key
   * likely due: newer than the stored update (as in {@link apply}) and, unless
   * `dueBefore` is undefined (a pass-through), last emitted no later than it.
   * The caller publishes after the write, unless the value equals the one
   * emitted before; a redelivery finds the claim and publishes again, so a
   * crash in between loses nothing. The update's trace is stored with it, as by {@link apply}.
   * @returns the new state, the value emitted before and whether that was an unconfirmed claim (its publish may
   *   have been lost), or undefined when a condition failed (use {@link apply})
   * @throws UpdateRefusedError, HotStateTableError as {@link apply}
   */
  async applyAndClaim(
    key: string,
    update: U,
    offset: number,
    now: number,
    dueBefore: number | undefined,
    trace?: InputTrace,
  ): Promise<
    { readonly state: HotState<U>; readonly previouslyEmitted: U | null; readonly previousClaimUnconfirmed: boolean } | undefined
  > {
    const command = this.applyAndClaimCommand(key, update, offset, now, dueBefore, trace);
    let output: Awaited<ReturnType<MeteredDocumentClient['send']>>;
    try {
      output = await this.metered.send(command);
    } catch (error) {
      if (!isConditionFailure(error)) throw await this.refusal(error, key, 'applyAndClaim');
      return undefined;
    }
    const previouslyEmitted =
      typeof output.Attributes?.emittedValue === 'string' ? (JSON.parse(output.Attributes.emittedValue) as U) : null;
    const state: HotState<U> = {
      key,
      value: update,
      sourceOffset: offset,
      emittedValue: update,
      emittedOffset: offset,
      emissionClaimed: true,
      emittedAt: now,
      pendingPartition: undefined,
      dueAt: undefined,
      trace,
    };
    return { state, previouslyEmitted, previousClaimUnconfirmed: output.Attributes?.emissionClaimed === true };
  }

  private applyCommand(
    key: string,
    update: UpdateOrder,
    offset: number,
    partition: string,
    minEmitIntervalMs: number,
    trace: InputTrace | undefined,
  ): UpdateCommand {
    const traced = storedTrace(trace);
    return new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: key },
      UpdateExpression:
        `${STORE_UPDATE}${traced.set}, pendingPartition = :partition, dueAt = if_not_exists(emittedAt, :zero) + :interval` +
        (traced.remove.length > 0 ? ` REMOVE ${traced.remove.join(', ')}` : ''),
      ConditionExpression: NEWER_THAN_STORED,
      ExpressionAttributeNames: { '#value': 'value' },
      ExpressionAttributeValues: {
        ...storedUpdateValues(key, update, offset),
        ...traced.values,
        ':partition': partition,
        ':zero': 0,
        ':interval': minEmitIntervalMs,
      },
      ReturnValues: 'ALL_NEW',
      ReturnConsumedCapacity: 'TOTAL',
    });
  }

  private applyAndClaimCommand(
    key: string,
    update: UpdateOrder,
    offset: number,
    now: number,
    dueBefore: number | undefined,
    trace: InputTrace | undefined,
  ): UpdateCommand {
    const traced = storedTrace(trace);
    return new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: key },
      UpdateExpression:
        `${STORE_UPDATE}${traced.set}, emittedValue = :value, emittedOffset = :offset, emittedAt = :now, emissionClaimed = :claimed ` +
        `REMOVE ${['pendingPartition', 'dueAt', ...traced.remove].join(', ')}`,
      ConditionExpression: `(${NEWER_THAN_STORED})${dueBefore === undefined ? '' : ' AND (attribute_not_exists(emittedAt) OR emittedAt <= :dueBefore)'}`,
      ExpressionAttributeNames: { '#value': 'value' },
      ExpressionAttributeValues: {
        ...storedUpdateValues(key, update, offset),
        ...traced.values,
        ':now': now,
        ':claimed': true,
        ...(dueBefore === undefined ? {} : { ':dueBefore': dueBefore }),
      },
      ReturnValues: 'ALL_OLD',
      ReturnConsumedCapacity: 'TOTAL',
    });
  }

  /**
   * What a failed storing write means. A `ValidationException` is the record's
   * fault only if the table takes a minimal update by the same write: a table
   * with another key or index type refuses every write with the same exception,
   * and must not send a whole stream to the dead-letter topic. Anything else
   * (throttling, DynamoDB or the network away) is returned as it is, to be retried.
   */
  private async refusal(error: unknown, key: string, write: StoringWrite): Promise<unknown> {
    if (!isValidationError(error)) return error;
    if (!(await this.takesWellFormed(write))) return new HotStateTableError(this.tableName, error);
    return new UpdateRefusedError(key, `DynamoDB refused it: ${error.name}: ${error.message}`, { cause: error });
  }

  /**
   * Sends a minimal update by the given write under a key no record can take,
   * filed under no partition's pending index; a success or a failed condition
   * (an earlier probe is stored) both mean DynamoDB takes the write's shape.
   * @throws what the probe met other than a refusal (DynamoDB away): retried with the batch
   */
  private async takesWellFormed(write: StoringWrite): Promise<boolean> {
    const at = this.probedAt.get(write);
    if (at !== undefined && Date.now() - at < PROBE_VALID_MS) return true;
    const probe =
      write === 'apply'
        ? this.applyCommand(PROBE_KEY, PROBE_UPDATE, 0, PROBE_KEY, 0, PROBE_TRACE)
        : this.applyAndClaimCommand(PROBE_KEY, PROBE_UPDATE, 0, 0, undefined, PROBE_TRACE);
    try {
      await this.metered.send(probe);
    } catch (error) {
      if (isValidationError(error)) return false;
      if (!isConditionFailure(error)) throw error;
    }
    this.probedAt.set(write, Date.now());
    return true;
  }

  /**
   * Records that `state.value` was published and clears the pending mark.
   * @returns false when a newer update was applied meanwhile (nothing is written)
   */
  async markEmitted(state: HotState<U>, emittedAt: number): Promise<boolean> {
    return this.metered
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: state.key },
          UpdateExpression:
            'SET emittedValue = #value, emittedOffset = sourceOffset, emittedAt = :now REMOVE pendingPartition, dueAt, emissionClaimed',
          ConditionExpression: 'sourceOffset = :offset AND version = :version',
          ExpressionAttributeNames: { '#value': 'value' },
          ExpressionAttributeValues: { ':offset': state.sourceOffset, ':version': state.value.version, ':now': emittedAt },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      )
      .then(() => true)
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
        return false;
      });
  }

  /** Clears the pending mark of a value that needs no delta (equal to the last one emitted). */
  async clearPending(state: HotState<U>): Promise<void> {
    await this.metered
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: state.key },
          UpdateExpression: 'REMOVE pendingPartition, dueAt',
          ConditionExpression: 'sourceOffset = :offset AND version = :version',
          ExpressionAttributeValues: { ':offset': state.sourceOffset, ':version': state.value.version },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  async get(key: string): Promise<HotState<U> | undefined> {
    const output = await this.metered.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: key }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }),
    );
    return output.Item ? toState<U>(output.Item) : undefined;
  }

  /**
   * Writes an environment's buffered range of a partition: over the revision
   * it last wrote (`knownRevision`), or as a new item when it wrote none or a
   * replay released it meanwhile.
   * @returns the revision written
   */
  async recordBufferedRange(range: Omit<BufferedRange, 'revision'>, knownRevision: number | undefined, replayAt: number): Promise<number> {
    const write = (revision: number, condition: string, values: Record<string, unknown>) =>
      this.metered.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: bufferedRangeKey(range),
            ...range,
            revision,
            [PENDING_INDEX.partitionKey]: `${range.topic}-${range.partition}`,
            [PENDING_INDEX.sortKey]: replayAt,
          },
          ConditionExpression: condition,
          ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
    if (knownRevision !== undefined) {
      try {
        await write(knownRevision + 1, 'revision = :known', { ':known': knownRevision });
        return knownRevision + 1;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    // A fresh item covers only this range: whatever the released one covered was replayed, or is still buffered here.
    await write(1, 'attribute_not_exists(pk)', {});
    return 1;
  }

  async getBufferedRange(key: string): Promise<BufferedRange | undefined> {
    const output = await this.metered.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: key }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }),
    );
    const item = output.Item;
    if (!item) return undefined;
    return {
      topic: item.topic as string,
      partition: item.partition as number,
      environmentId: item.environmentId as string,
      fromOffset: item.fromOffset as number,
      toOffset: item.toOffset as number,
      revision: item.revision as number,
    };
  }

  /** Deletes a buffered range once its updates are stored, unless it was written again since `revision`. */
  async releaseBufferedRange(range: BufferedRange): Promise<void> {
    await this.metered
      .send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: bufferedRangeKey(range) },
          ConditionExpression: 'revision = :revision',
          ExpressionAttributeValues: { ':revision': range.revision },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  /**
   * Keys of a partition whose emission is due by `now`, one page at a time. The
   * index is eventually consistent: a key just marked may show up only on a
   * later flush, and a listed key must be read again before emitting.
   */
  async duePending(partition: string, now: number, pageSize: number, startAfter?: Record<string, unknown>) {
    const output = await this.metered.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: PENDING_INDEX.name,
        KeyConditionExpression: 'pendingPartition = :partition AND dueAt <= :now',
        ExpressionAttributeValues: { ':partition': partition, ':now': now },
        Limit: pageSize,
        ...(startAfter ? { ExclusiveStartKey: startAfter } : {}),
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return { keys: (output.Items ?? []).map((item) => item.pk as string), next: output.LastEvaluatedKey };
  }
}

function toState<U extends UpdateOrder>(item: Record<string, unknown>): HotState<U> {
  return {
    key: item.pk as string,
    value: JSON.parse(item.value as string) as U,
    sourceOffset: item.sourceOffset as number,
    emittedValue: typeof item.emittedValue === 'string' ? (JSON.parse(item.emittedValue) as U) : null,
    emittedOffset: item.emittedOffset as number | undefined,
    emissionClaimed: item.emissionClaimed === true,
    emittedAt: item.emittedAt as number | undefined,
    pendingPartition: item.pendingPartition as string | undefined,
    dueAt: item.dueAt as number | undefined,
    trace: traceOfItem(item),
  };
}
