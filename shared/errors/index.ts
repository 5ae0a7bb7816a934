/**
 * The one base of every error the platform raises. `retriable` says whether
 * trying the same thing again can help; retry logic decides from it alone.
 * Each module derives its own base from this one, so callers can catch a
 * module's errors as a family and still see `retriable` and `cause`.
 */
export class PlatformError extends Error {
  override readonly name: string = 'PlatformError';
  constructor(
    message: string,
    readonly retriable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
