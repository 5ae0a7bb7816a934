/** Base of the foreign-key join's errors; `retriable` says whether processing the record again can help. */
export class FkJoinError extends Error {
  override readonly name: string = 'FkJoinError';
  constructor(
    message: string,
    readonly retriable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A join declaration that cannot work; raised when the pipeline is defined. */
export class JoinDeclarationError extends FkJoinError {
  override readonly name = 'JoinDeclarationError';
}

/** A value a codec cannot decode; the record is dead-lettered with this message. */
export class CodecError extends FkJoinError {
  override readonly name = 'CodecError';
}
