import { PlatformError } from '../errors';

/** Base of the high-frequency path's errors. */
export class HotPathError extends PlatformError {
  override readonly name: string = 'HotPathError';
}

/** An update that does not match its stream's schema; the record is dead-lettered with this message. */
export class InvalidUpdateError extends HotPathError {
  override readonly name = 'InvalidUpdateError';
}

/** The invocation ran out of time before every key was applied; the batch is retried whole (applying is idempotent). */
export class TimeBudgetExceededError extends HotPathError {
  override readonly name = 'TimeBudgetExceededError';
  constructor(pendingKeys: number) {
    super(`ran short of time with ${pendingKeys} key(s) not yet applied; the event source retries the batch`, true);
  }
}
