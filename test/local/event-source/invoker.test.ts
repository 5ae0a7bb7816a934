import { join } from 'node:path';
import { HandlerLoadError, HandlerTimeoutError, invokeHandler, loadHandler } from '../../../shared/local/event-source';
import type { MskEvent } from '../../../shared/msk';

const event: MskEvent = {
  eventSource: 'aws:kafka',
  eventSourceArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/local/x',
  bootstrapServers: 'b:9092',
  records: {},
};
const settings = { functionName: 'fn', timeoutSeconds: 0.2, memorySizeMb: 256, awsRegion: 'eu-west-1' };

describe('Function: loadHandler', () => {
  it('loads the declared export of the handler module', () => {
    const handler = loadHandler({ entry: join(__dirname, '..', '..', 'fixtures', 'noop-handler.ts'), exportName: 'handler' });

    expect(typeof handler).toBe('function');
  });

  it('names the module and what it does export when the declared export is missing', () => {
    const loading = () => loadHandler({ entry: join(__dirname, '..', '..', 'fixtures', 'not-a-handler.ts'), exportName: 'handler' });

    expect(loading).toThrow(HandlerLoadError);
    expect(loading).toThrow(/not-a-handler\.ts does not export a function named "handler" \(it exports: main\)/);
  });

  it('reports a module that cannot be loaded', () => {
    expect(() => loadHandler({ entry: '/nowhere/handler.ts', exportName: 'handler' })).toThrow(
      /Cannot load handler module \/nowhere\/handler\.ts/,
    );
  });
});

describe('Function: invokeHandler', () => {
  it('returns the response as data, with a Lambda context counting down to the timeout', async () => {
    const outcome = await invokeHandler(
      async (_event, context) => ({
        remaining: context.getRemainingTimeInMillis(),
        arn: context.invokedFunctionArn,
        memory: context.memoryLimitInMB,
      }),
      event,
      settings,
    );

    expect(outcome.kind).toBe('success');
    const response = (outcome as { response: { remaining: number; arn: string; memory: string } }).response;
    expect(response.remaining).toBeGreaterThan(0);
    expect(response.remaining).toBeLessThanOrEqual(200);
    expect(response.arn).toBe('arn:aws:lambda:eu-west-1:000000000000:function:fn');
    expect(response.memory).toBe('256');
  });

  it('turns a thrown value into an error outcome', async () => {
    const outcome = await invokeHandler(
      () => {
        throw new TypeError('bad input');
      },
      event,
      settings,
    );

    expect(outcome).toEqual({ kind: 'error', error: new TypeError('bad input') });
  });

  it('fails with "Task timed out" when the handler does not settle within the timeout', async () => {
    const outcome = await invokeHandler(() => new Promise(() => undefined), event, settings);

    expect(outcome.kind).toBe('error');
    const error = (outcome as { error: Error }).error;
    expect(error).toBeInstanceOf(HandlerTimeoutError);
    expect(error.message).toBe('Task timed out after 0.20 seconds');
  });
});
