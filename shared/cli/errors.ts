import { PlatformError } from '../errors';

/** A command failed for a reason the user can act on: printed without a stack, exit code 1. */
export class CliError extends PlatformError {
  override readonly name: string = 'CliError';
}

/** The command line itself is wrong: printed with a pointer to --help, exit code 2. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
}

/** What was asked for is not there (a letter, a consumer's dead-letter topic): exit code 1, or 404 in the console. */
export class NotFoundError extends CliError {
  override readonly name = 'NotFoundError';
}
