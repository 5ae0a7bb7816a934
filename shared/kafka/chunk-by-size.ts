/**
 * The broker refuses a produce request whose batch for one partition exceeds
 * `message.max.bytes` (1 MB by default); requests of about half that stay clear of it.
 */
export const MAX_PRODUCE_REQUEST_BYTES = 512 * 1024;

/** Consecutive groups whose estimated sizes add up to at most `maxBytes` (a larger item goes alone), in order. */
export function chunkBySize<T>(items: readonly T[], sizeOf: (item: T) => number, maxBytes: number = MAX_PRODUCE_REQUEST_BYTES): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** What a message adds to a produce request, roughly: key, value, headers and a margin for framing. */
export function estimatedMessageBytes(message: {
  readonly key?: string | Buffer | null;
  readonly value?: string | Buffer | null;
  readonly headers?: Readonly<Record<string, unknown>>;
}): number {
  const headers = Object.entries(message.headers ?? {}).reduce((sum, [name, value]) => sum + name.length + String(value ?? '').length, 0);
  return (message.key?.length ?? 0) + (message.value?.length ?? 0) + headers + 64;
}
