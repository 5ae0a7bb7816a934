import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { TraceContext } from './trace-context';
import { parseXRayTraceHeader, toXRayTraceId } from './xray-trace-id';

export interface XRayBatchTracerOptions {
  /** The function's environment, handed down by its handler module; read at every batch (Lambda sets `_X_AMZN_TRACE_ID` per invocation). */
  readonly env: NodeJS.ProcessEnv;
  /** @default Date.now */
  readonly now?: () => number;
  /** Sends one datagram to the daemon. @default a UDP socket per batch, as the X-Ray SDK does in Lambda */
  readonly send?: (datagram: Buffer, port: number, address: string) => Promise<void>;
  /** Told when a subsegment could not be sent (the batch itself never fails for it). */
  readonly warn?: (message: string) => void;
}

/** X-Ray's daemon protocol: a header line, then one segment document per datagram. */
const DAEMON_HEADER = '{"format":"json","version":1}\n';
/** An annotation value holds at most 1,000 characters: the first record trace ids that fit are annotated, all of them (up to this) kept as metadata. */
const MAX_ANNOTATION_LENGTH = 1000;
const MAX_METADATA_TRACE_IDS = 1000;

/**
 * Records each batch a Lambda consumer handles as an X-Ray subsegment of the
 * invocation, annotated with the X-Ray form of the trace ids its records carry,
 * so the invocation that handled a record can be found from the record's trace
 * id, and the record's trace from the invocation.
 *
 * What Powertools Tracer would do for a batch, without its bundle cost: the
 * subsegment goes straight to the X-Ray daemon Lambda runs for a function with
 * active tracing (UDP, `AWS_XRAY_DAEMON_ADDRESS`), under the invocation's
 * segment (`_X_AMZN_TRACE_ID`). Nothing is sent, and nothing is printed, when
 * those are not set (locally, in tests), when the invocation is not sampled, or
 * with `POWERTOOLS_TRACE_ENABLED=false`.
 *
 * @example
 * const tracer = new XRayBatchTracer('items-with-flyer.left', { env: process.env });
 * export const handler = (event) => tracer.trace(contextsOf(event), () => handle(event));
 */
export class XRayBatchTracer {
  private readonly env: NodeJS.ProcessEnv;
  private readonly now: () => number;
  private readonly send: (datagram: Buffer, port: number, address: string) => Promise<void>;

  constructor(
    private readonly name: string,
    private readonly options: XRayBatchTracerOptions,
  ) {
    this.env = options.env;
    this.now = options.now ?? Date.now;
    this.send = options.send ?? sendDatagram;
  }

  /** Runs one batch's work, recorded as a subsegment when the invocation is traced; the work's outcome is returned or thrown as it is. */
  async trace<T>(records: readonly TraceContext[], work: () => Promise<T>): Promise<T> {
    const target = this.target();
    if (target === undefined) return work();
    const startTime = this.now() / 1000;
    let failure: unknown;
    try {
      return await work();
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      const document = this.subsegment(target, startTime, records, failure);
      // Sent before the invocation returns: Lambda may freeze the environment right after.
      await this.send(Buffer.from(DAEMON_HEADER + JSON.stringify(document)), target.port, target.address).catch((error: unknown) =>
        this.options.warn?.(`X-Ray subsegment not sent to ${target.address}:${target.port}: ${String(error)}`),
      );
    }
  }

  /** Where and under what to record this invocation's batch; undefined when it is not traced. */
  private target(): { traceId: string; parentId: string; address: string; port: number } | undefined {
    if ((this.env.POWERTOOLS_TRACE_ENABLED ?? '').toLowerCase() === 'false') return undefined;
    const daemon = daemonAddress(this.env.AWS_XRAY_DAEMON_ADDRESS);
    if (daemon === undefined) return undefined;
    // Lambda's runtime keeps the header per invocation in its InvokeStore when invocations may run concurrently.
    const invokeStore = (globalThis as { awslambda?: { InvokeStore?: { getXRayTraceId?: () => string | undefined } } }).awslambda
      ?.InvokeStore;
    const header = parseXRayTraceHeader(invokeStore?.getXRayTraceId?.() ?? this.env._X_AMZN_TRACE_ID);
    if (header?.parent === undefined || header.sampled !== true) return undefined;
    return { traceId: header.root, parentId: header.parent, ...daemon };
  }

  private subsegment(target: { traceId: string; parentId: string }, startTime: number, records: readonly TraceContext[], failure: unknown) {
    const traceIds = [...new Set(records.map((record) => toXRayTraceId(record.traceId)))];
    let annotated = '';
    for (const id of traceIds) {
      const next = annotated === '' ? id : `${annotated},${id}`;
      if (next.length > MAX_ANNOTATION_LENGTH) break;
      annotated = next;
    }
    return {
      type: 'subsegment',
      name: this.name,
      id: randomBytes(8).toString('hex'),
      trace_id: target.traceId,
      parent_id: target.parentId,
      start_time: startTime,
      end_time: this.now() / 1000,
      // Indexed: `annotation.record_trace_ids CONTAINS "1-…"` finds the invocations that handled a record's trace.
      annotations: { records: records.length, record_traces: traceIds.length, record_trace_ids: annotated },
      metadata: {
        tracing: { record_trace_ids: traceIds.slice(0, MAX_METADATA_TRACE_IDS), truncated: traceIds.length > MAX_METADATA_TRACE_IDS },
      },
      ...(failure === undefined
        ? {}
        : {
            fault: true,
            cause: {
              exceptions: [
                {
                  id: randomBytes(8).toString('hex'),
                  type: failure instanceof Error ? failure.name : typeof failure,
                  message: failure instanceof Error ? failure.message : String(failure),
                },
              ],
            },
          }),
    };
  }
}

/** `AWS_XRAY_DAEMON_ADDRESS`: `host:port`, or `udp:host:port tcp:host:port`. */
function daemonAddress(value: string | undefined): { address: string; port: number } | undefined {
  if (!value) return undefined;
  const udp =
    value
      .split(/\s+/)
      .find((part) => part.startsWith('udp:'))
      ?.slice('udp:'.length) ?? value.trim();
  const at = udp.lastIndexOf(':');
  const port = Number(udp.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) return undefined;
  return { address: udp.slice(0, at), port };
}

function sendDatagram(datagram: Buffer, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    let settled = false;
    const finish = (error?: Error | null) => {
      if (settled) return;
      settled = true;
      socket.close();
      if (error) reject(error);
      else resolve();
    };
    socket.once('error', finish);
    socket.send(datagram, port, address, finish);
  });
}
