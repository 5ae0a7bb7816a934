import { isNewerUpdate, type HotStream, type UpdateOrder } from './define-hot-stream';
import type { InputTrace } from '../tracing';

/** An update as read from the input topic. */
export interface HotUpdateRecord<U extends UpdateOrder> {
  readonly recordKey: string;
  readonly offset: number;
  readonly partition: number;
  readonly update: U;
  /** The trace its record carried (or was started for it); kept with the update wherever it goes. None: the delta starts a trace. */
  readonly trace?: InputTrace;
}

/**
 * The newest update per state key of a batch: newest by source version, then
 * source timestamp, then offset. Everything older in the batch is dropped here,
 * before DynamoDB sees it. The survivor keeps its own record's trace: a key's
 * delta continues the trace of the update it carries.
 */
export function coalesceNewest<U extends UpdateOrder>(
  stream: HotStream<U>,
  records: readonly HotUpdateRecord<U>[],
): Map<string, HotUpdateRecord<U>> {
  const newest = new Map<string, HotUpdateRecord<U>>();
  for (const record of records) {
    const key = stream.stateKey(record.recordKey, record.update);
    newest.set(key, newestOf(stream, newest.get(key), record));
  }
  return newest;
}

/** The newer of two updates of one state key, keeping what the stream carries over from the other. */
export function newestOf<U extends UpdateOrder>(
  stream: HotStream<U>,
  current: HotUpdateRecord<U> | undefined,
  record: HotUpdateRecord<U>,
): HotUpdateRecord<U> {
  if (current === undefined) return record;
  const newer =
    isNewerUpdate(record.update, current.update) || (!isNewerUpdate(current.update, record.update) && record.offset > current.offset);
  return newer
    ? { ...record, update: stream.carryOver(current.update, record.update) }
    : { ...current, update: stream.carryOver(record.update, current.update) };
}
