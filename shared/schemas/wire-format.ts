import { WireFormatError } from './errors';

/** The Confluent wire format's first byte. */
export const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

/**
 * Frames a serialized value the way Confluent's serializers, Schema Registry
 * clients and Lambda's schema-registry integration expect: magic byte 0, the
 * schema id as a big-endian 32-bit integer, then the payload.
 */
export function encodeWireFormat(schemaId: number, payload: Buffer): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0x7fffffff)
    throw new WireFormatError(`schema id must be a 31-bit whole number, got ${schemaId}`);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, payload]);
}

/** Splits framed bytes into schema id and payload. @throws WireFormatError for anything not framed so */
export function decodeWireFormat(bytes: Buffer): { readonly schemaId: number; readonly payload: Buffer } {
  if (bytes.length < HEADER_BYTES)
    throw new WireFormatError(`${bytes.length} byte(s) are too short for the wire format (magic byte and schema id take 5)`);
  if (bytes.readUInt8(0) !== MAGIC_BYTE)
    throw new WireFormatError(`first byte is ${bytes.readUInt8(0)}, not the wire format's magic byte 0`);
  return { schemaId: bytes.readInt32BE(1), payload: bytes.subarray(HEADER_BYTES) };
}
