import { createSocket, type Socket } from 'node:dgram';
import { newRootContext, toXRayTraceId, XRayBatchTracer } from '../../shared/tracing';

const INVOCATION = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';

/** A subsegment document: the fields the tests read by path are typed; the others are checked whole. */
interface Subsegment {
  readonly annotations: { readonly record_trace_ids: string };
  readonly metadata: { readonly tracing: { readonly record_trace_ids: readonly string[] } };
  readonly [field: string]: unknown;
}

/** What a tracer sent, as the daemon receives it: the protocol header line, then one JSON document. */
function recorder() {
  const sent: Array<{ header: unknown; document: Subsegment; port: number; address: string }> = [];
  const send = async (datagram: Buffer, port: number, address: string) => {
    const [header, document] = datagram.toString('utf8').split('\n');
    sent.push({ header: JSON.parse(header!), document: JSON.parse(document!) as Subsegment, port, address });
  };
  return { sent, send };
}

describe('Class: XRayBatchTracer', () => {
  it("records a batch as a subsegment of the invocation, annotated with its records' X-Ray trace ids, and returns the work's result", async () => {
    // Prepare
    const { sent, send } = recorder();
    let now = 1_767_225_600_000;
    const tracer = new XRayBatchTracer('items-with-flyer.left', {
      env: { AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129:2000', _X_AMZN_TRACE_ID: INVOCATION },
      now: () => now,
      send,
    });
    const [a, b] = [newRootContext(), newRootContext()];

    // Act
    const result = await tracer.trace([a, b, a], async () => {
      now += 250;
      return 'done';
    });

    // Assess
    expect(result).toBe('done');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ header: { format: 'json', version: 1 }, address: '169.254.79.129', port: 2000 });
    expect(sent[0]!.document).toEqual({
      type: 'subsegment',
      name: 'items-with-flyer.left',
      id: expect.stringMatching(/^[0-9a-f]{16}$/),
      trace_id: '1-5759e988-bd862e3fe1be46a994272793',
      parent_id: '53995c3f42cd8ad8',
      start_time: 1_767_225_600,
      end_time: 1_767_225_600.25,
      annotations: { records: 3, record_traces: 2, record_trace_ids: `${toXRayTraceId(a.traceId)},${toXRayTraceId(b.traceId)}` },
      metadata: { tracing: { record_trace_ids: [toXRayTraceId(a.traceId), toXRayTraceId(b.traceId)], truncated: false } },
    });
  });

  it('annotates only the trace ids that fit in 1,000 characters, and keeps them all as metadata', async () => {
    const { sent, send } = recorder();
    const tracer = new XRayBatchTracer('c', { env: { AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000', _X_AMZN_TRACE_ID: INVOCATION }, send });
    const records = Array.from({ length: 100 }, () => newRootContext());

    await tracer.trace(records, async () => undefined);

    const { annotations, metadata } = sent[0]!.document;
    expect(annotations.record_trace_ids.length).toBeLessThanOrEqual(1000);
    expect(annotations.record_trace_ids.split(',')).toEqual(records.slice(0, 27).map((record) => toXRayTraceId(record.traceId)));
    expect(metadata.tracing.record_trace_ids).toHaveLength(100);
  });

  it('marks the subsegment as a fault with the error, and throws the error as it was', async () => {
    const { sent, send } = recorder();
    const tracer = new XRayBatchTracer('c', { env: { AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000', _X_AMZN_TRACE_ID: INVOCATION }, send });
    const failure = new TypeError('DynamoDB went away');

    await expect(tracer.trace([], () => Promise.reject(failure))).rejects.toBe(failure);

    expect(sent[0]!.document).toMatchObject({ fault: true, cause: { exceptions: [{ type: 'TypeError', message: 'DynamoDB went away' }] } });
  });

  it.each([
    ['outside Lambda (no daemon, no trace header)', {}],
    ['without a daemon address', { _X_AMZN_TRACE_ID: INVOCATION }],
    [
      'for an invocation that is not sampled',
      { AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000', _X_AMZN_TRACE_ID: INVOCATION.replace('Sampled=1', 'Sampled=0') },
    ],
    [
      'for a trace header without a parent',
      { AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000', _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793' },
    ],
    [
      'with POWERTOOLS_TRACE_ENABLED=false',
      { AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000', _X_AMZN_TRACE_ID: INVOCATION, POWERTOOLS_TRACE_ENABLED: 'false' },
    ],
  ])('sends nothing %s, and still runs the work', async (_label, env) => {
    const { sent, send } = recorder();
    const tracer = new XRayBatchTracer('c', { env, send });

    expect(await tracer.trace([newRootContext()], async () => 42)).toBe(42);
    expect(sent).toEqual([]);
  });

  it('never fails a batch because the subsegment could not be sent, and says so', async () => {
    const warnings: string[] = [];
    const tracer = new XRayBatchTracer('c', {
      env: { AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000', _X_AMZN_TRACE_ID: INVOCATION },
      send: () => Promise.reject(new Error('EMSGSIZE')),
      warn: (message) => warnings.push(message),
    });

    expect(await tracer.trace([], async () => 'ok')).toBe('ok');
    expect(warnings).toEqual([expect.stringMatching(/X-Ray subsegment not sent to 127\.0\.0\.1:2000: Error: EMSGSIZE/)]);
  });

  describe('with a daemon listening on UDP', () => {
    let daemon: Socket;
    let port: number;
    const received: string[] = [];
    beforeAll(async () => {
      daemon = createSocket('udp4');
      daemon.on('message', (message) => received.push(message.toString('utf8')));
      await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
      port = daemon.address().port;
    });
    afterAll(() => daemon.close());

    it("sends the subsegment in X-Ray's daemon protocol to AWS_XRAY_DAEMON_ADDRESS (also in its udp:/tcp: form)", async () => {
      for (const address of [`127.0.0.1:${port}`, `udp:127.0.0.1:${port} tcp:127.0.0.1:${port}`]) {
        const tracer = new XRayBatchTracer('merchant-directory', {
          env: { AWS_XRAY_DAEMON_ADDRESS: address, _X_AMZN_TRACE_ID: INVOCATION },
        });
        await tracer.trace([newRootContext()], async () => undefined);
      }

      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toHaveLength(2);
      for (const datagram of received) {
        const [header, document] = datagram.split('\n');
        expect(header).toBe('{"format":"json","version":1}');
        expect(JSON.parse(document!)).toMatchObject({ type: 'subsegment', name: 'merchant-directory', parent_id: '53995c3f42cd8ad8' });
      }
    });
  });
});
