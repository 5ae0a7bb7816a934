import { PlatformError } from '../errors';

/** Base of the foreign-key join's errors. */
export class FkJoinError extends PlatformError {
  override readonly name: string = 'FkJoinError';
}

/** A join declaration that cannot work; raised when the pipeline is defined. */
export class JoinDeclarationError extends FkJoinError {
  override readonly name = 'JoinDeclarationError';
}

/**
 * An input record the join cannot use (no key, or a value its topic's
 * format cannot read), found before anything is written: the handler dead-letters it and
 * moves on. Any other failure fails the invocation, so nothing is left half-applied.
 */
export class InvalidJoinInputError extends FkJoinError {
  override readonly name = 'InvalidJoinInputError';
}
