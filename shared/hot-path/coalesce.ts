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
    const current = newest.get(key);
    const newer =
      current === undefined ||
      isNewerUpdate(record.update, current.update) ||
      (!isNewerUpdate(current.update, record.update) && record.offset > current.offset);
    if (newer) newest.set(key, record);
  }
  return newest;
}
