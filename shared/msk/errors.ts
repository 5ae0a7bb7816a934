import { PlatformError } from '../errors';
import type { MskRecord } from './event';

/** A record the function cannot use; its message names the record and what was wrong, for the dead-letter topic. */
export class InvalidRecordError extends PlatformError {
  override readonly name = 'InvalidRecordError';
  constructor(
    readonly record: Pick<MskRecord, 'topic' | 'partition' | 'offset'>,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${record.topic}-${record.partition}@${record.offset}: ${reason}`, false, options);
  }
}
