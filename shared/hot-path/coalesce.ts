import { isNewerUpdate, type HotStream, type UpdateOrder } from './define-hot-stream';

/** An update as read from the input topic. */
export interface HotUpdateRecord<U extends UpdateOrder> {
  readonly recordKey: string;
  readonly offset: number;
  readonly partition: number;
  readonly update: U;
}

/**
 * The newest update per state key of a batch: newest by source version, then
 * source timestamp, then offset. Everything older in the batch is dropped here,
 * before DynamoDB sees it.
 */
export function coalesceNewest<U extends UpdateOrder>(stream: HotStream<U>, records: readonly HotUpdateRecord<U>[]): Map<string, HotUpdateRecord<U>> {
  const newest = new Map<string, HotUpdateRecord<U>>();
  for (const record of records) {
    const key = stream.stateKey(record.recordKey, record.update);
    newest.set(key, newestOf(stream, newest.get(key), record));
  }
  return newest;
}

/** The newer of two updates of one state key, keeping what the stream carries over from the other. */
export function newestOf<U extends UpdateOrder>(stream: HotStream<U>, current: HotUpdateRecord<U> | undefined, record: HotUpdateRecord<U>): HotUpdateRecord<U> {
  if (current === undefined) return record;
  const newer = isNewerUpdate(record.update, current.update) || (!isNewerUpdate(current.update, record.update) && record.offset > current.offset);
  return newer ? { ...record, update: stream.carryOver(current.update, record.update) } : { ...current, update: stream.carryOver(record.update, current.update) };
}
