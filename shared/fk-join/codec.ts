import { CodecError } from './errors';

/** Turns values into record bytes and back. `decode` throws {@link CodecError} on bytes it cannot read. */
export interface ValueCodec<T> {
  encode(value: T): Buffer;
  decode(bytes: Buffer): T;
}

/**
 * JSON, the default codec. Decoding accepts any JSON value; narrow it in the
 * foreign-key extractor and joiner, which receive it typed as the join declares.
 */
export function jsonCodec<T>(): ValueCodec<T> {
  return {
    encode: (value) => Buffer.from(JSON.stringify(value)),
    decode: (bytes) => {
      try {
        return JSON.parse(bytes.toString('utf8')) as T;
      } catch (error) {
        throw new CodecError(`value is not valid JSON (${(error as Error).message}): ${bytes.toString('utf8').slice(0, 120)}`);
      }
    },
  };
}
