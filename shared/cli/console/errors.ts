import { PlatformError } from '../../errors';

/** A request the console refuses before doing anything, with the HTTP status it answers. */
export class ConsoleRequestError extends PlatformError {
  override readonly name = 'ConsoleRequestError';

  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
