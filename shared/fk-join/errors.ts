import { PlatformError } from '../errors';

/** Base of the foreign-key join's errors. */
export class FkJoinError extends PlatformError {
  override readonly name: string = 'FkJoinError';
}

/** A join declaration that cannot work; raised when the pipeline is defined. */
export class JoinDeclarationError extends FkJoinError {
  override readonly name = 'JoinDeclarationError';
}

/** A value a codec cannot decode; the record is dead-lettered with this message. */
export class CodecError extends FkJoinError {
  override readonly name = 'CodecError';
}
