import { PlatformError } from '../errors';

/** Records could not be written to the dead-letter topic; they stay uncommitted and are retried. */
export class DeadLetterPublishError extends PlatformError {
  override readonly name = 'DeadLetterPublishError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, true, options);
  }
}
