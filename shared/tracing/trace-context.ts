import { randomBytes } from 'node:crypto';

/**
 * A W3C Trace Context (https://www.w3.org/TR/trace-context/): the trace a
 * record belongs to and the span that produced it, as a `traceparent` header
 * carries them, plus the vendors' `tracestate`, passed through unchanged.
 */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zero: the whole journey of one change, across every hop. */
  readonly traceId: string;
  /** 16 lowercase hex digits, not all zero: the span (here: the producer or the hop) that wrote the record. */
  readonly parentId: string;
  /** The trace flags byte; bit 0 is `sampled`. */
  readonly flags: number;
  /** The `tracestate` header as received (vendor entries), when there was a valid one. */
  readonly traceState?: string;
}

/** The `sampled` trace flag: the caller may have recorded this trace. */
export const SAMPLED_FLAG = 0x01;

/**
 * Flags a child keeps: `sampled` and Level 2's `random` (the trace id is random).
 * Unknown flags are not propagated, as the specification asks.
 */
const KNOWN_FLAGS = 0x03;

const VERSION_00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
// A later version: the version 00 fields first, then possibly more fields after a dash (parsed as 00, the rest ignored).
const LATER_VERSION = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZERO = /^0+$/;

/** tracestate may have at most 32 entries; vendors propagate at least 512 characters of it. */
const MAX_TRACE_STATE_LENGTH = 512;
const TRACE_STATE_ENTRY = /^[a-z0-9][a-z0-9_\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Reads a `traceparent` header value (and the `tracestate` beside it).
 *
 * Follows the specification's parsing rules: version 00 exactly
 * (`00-<32 hex>-<16 hex>-<2 hex>`, lowercase); a later version is read for its
 * version 00 fields; version `ff`, an all-zero trace or parent id, upper-case
 * hex or anything else is invalid. An invalid `tracestate` is dropped, the
 * `traceparent` kept; one longer than 512 characters loses entries from its end.
 *
 * @returns the context, or undefined when the header is missing or invalid (start a new trace then)
 *
 * @example
 * parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
 * // { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentId: '00f067aa0ba902b7', flags: 1 }
 */
export function parseTraceparent(traceparent: string | undefined, tracestate?: string): TraceContext | undefined {
  if (traceparent === undefined) return undefined;
  const text = traceparent.trim();
  let fields: RegExpExecArray | null = VERSION_00.exec(text);
  let traceId: string, parentId: string, flags: string;
  if (fields) {
    [, traceId, parentId, flags] = fields as unknown as [string, string, string, string];
  } else {
    fields = LATER_VERSION.exec(text);
    if (!fields || fields[1] === '00' || fields[1] === 'ff') return undefined;
    [, , traceId, parentId, flags] = fields as unknown as [string, string, string, string, string];
  }
  if (ALL_ZERO.test(traceId) || ALL_ZERO.test(parentId)) return undefined;
  const state = validTraceState(tracestate);
  return { traceId, parentId, flags: Number.parseInt(flags, 16), ...(state === undefined ? {} : { traceState: state }) };
}

/** The `traceparent` header value of a context, always written as version 00. */
export function formatTraceparent(context: TraceContext): string {
  return `00-${context.traceId}-${context.parentId}-${(context.flags & 0xff).toString(16).padStart(2, '0')}`;
}

export interface NewTraceOptions {
  /** Whether the new trace is marked sampled (worth recording). @default true */
  readonly sampled?: boolean;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * A new trace: a random parent id and a trace id whose first 8 hex digits are
 * the current Unix time in seconds and the other 24 random, the shape X-Ray
 * gives its own trace ids, so that the id is also a valid X-Ray trace id (see
 * `toXRayTraceId`). It is therefore not fully random: Level 2's `random` flag
 * stays unset.
 */
export function newRootContext(options: NewTraceOptions = {}): TraceContext {
  const seconds = Math.floor((options.now ?? Date.now)() / 1000);
  const time = (seconds >>> 0).toString(16).padStart(8, '0');
  return { traceId: `${time}${nonZeroHex(12)}`, parentId: nonZeroHex(8), flags: options.sampled === false ? 0 : SAMPLED_FLAG };
}

/**
 * The context of a record produced because of another: the same trace, a new
 * parent id (the span of this hop), the parent's sampled flag and its
 * `tracestate` passed on unchanged.
 */
export function childContext(parent: TraceContext): TraceContext {
  return {
    traceId: parent.traceId,
    parentId: nonZeroHex(8),
    flags: parent.flags & KNOWN_FLAGS,
    ...(parent.traceState === undefined ? {} : { traceState: parent.traceState }),
  };
}

export function isSampled(context: TraceContext): boolean {
  return (context.flags & SAMPLED_FLAG) !== 0;
}

/** `bytes` random bytes as hex, never all zero (which the specification reserves as invalid). */
function nonZeroHex(bytes: number): string {
  for (;;) {
    const hex = randomBytes(bytes).toString('hex');
    if (!ALL_ZERO.test(hex)) return hex;
  }
}

/**
 * The tracestate to pass on: the header with blank entries removed, when every
 * entry is a `key=value` pair as the specification writes them and there are at
 * most 32; otherwise none (a malformed tracestate must not be propagated).
 * Several `tracestate` headers are one list, joined with commas before this.
 */
function validTraceState(tracestate: string | undefined): string | undefined {
  if (tracestate === undefined) return undefined;
  const entries = tracestate
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0 || entries.length > 32 || !entries.every((entry) => TRACE_STATE_ENTRY.test(entry))) return undefined;
  // Too long to pass on whole: whole entries are dropped from the end (the oldest vendors' entries).
  while (entries.join(',').length > MAX_TRACE_STATE_LENGTH) entries.pop();
  return entries.length === 0 ? undefined : entries.join(',');
}
