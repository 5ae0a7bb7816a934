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
    if (current === undefined) {
      newest.set(key, record);
      continue;
    }
    const newer = isNewerUpdate(record.update, current.update) || (!isNewerUpdate(current.update, record.update) && record.offset > current.offset);
    newest.set(
      key,
      newer ? { ...record, update: stream.carryOver(current.update, record.update) } : { ...current, update: stream.carryOver(record.update, current.update) },
    );
  }
  return newest;
}
