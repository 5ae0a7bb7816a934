import { PlatformError } from '../../errors';

/** Base of the event-source emulator's errors. */
export class EventSourceError extends PlatformError {
  override readonly name: string = 'EventSourceError';
}

/** The handler module could not be loaded or does not export a function under the declared name. */
export class HandlerLoadError extends EventSourceError {
  override readonly name = 'HandlerLoadError';
}

/** The handler did not settle within the function timeout; Lambda reports this as "Task timed out". */
export class HandlerTimeoutError extends EventSourceError {
  override readonly name = 'HandlerTimeoutError';
  constructor(readonly timeoutSeconds: number) {
    super(`Task timed out after ${timeoutSeconds.toFixed(2)} seconds`, true);
  }
}

/** A partial batch response that names records outside the batch or is malformed; Lambda fails the whole batch. */
export class InvalidBatchResponseError extends EventSourceError {
  override readonly name = 'InvalidBatchResponseError';
}
