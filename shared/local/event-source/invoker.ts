import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { MskEvent, MskHandler } from '../../msk';
import type { HandlerReference } from '../../pipeline';
import { HandlerLoadError, HandlerTimeoutError } from './errors';

/** The outcome of one invocation, as data: the caller decides what a failure means. */
export type InvocationOutcome =
  | { readonly kind: 'success'; readonly response: unknown }
  | {
      readonly kind: 'error';
      readonly error: Error;
      /**
       * After a timeout: settles when the timed-out handler does, or after one more timeout period.
       * Lambda ends a timed-out runtime; in-process it cannot be stopped, so the event source waits
       * for it before the retry, keeping one batch in flight per partition as far as it can.
       */
      readonly stillRunning?: Promise<void>;
    };

/**
 * Loads the very module `NodejsFunction` bundles for AWS, in this process, so a
 * debugger and source maps work. Module-scope code runs once, like a cold start.
 */
export function loadHandler(reference: Required<HandlerReference>): MskHandler {
  let moduleExports: Record<string, unknown>;
  try {
    moduleExports = require(reference.entry) as Record<string, unknown>;
  } catch (error) {
    throw new HandlerLoadError(`Cannot load handler module ${reference.entry}: ${String(error)}`, false, { cause: error });
  }
  const handler = moduleExports[reference.exportName];
  if (typeof handler !== 'function') {
    throw new HandlerLoadError(
      `${reference.entry} does not export a function named "${reference.exportName}" ` +
        `(it exports: ${Object.keys(moduleExports).join(', ') || 'nothing'})`,
    );
  }
  return handler as MskHandler;
}

export interface InvocationSettings {
  readonly functionName: string;
  readonly timeoutSeconds: number;
  readonly memorySizeMb: number;
  readonly awsRegion: string;
}

/**
 * Invokes a handler as Lambda would and settles within the function timeout.
 * A timed-out invocation cannot be killed in-process: its late result is ignored,
 * which matches what Lambda reports but not its freezing of the environment.
 */
export async function invokeHandler(handler: MskHandler, event: MskEvent, settings: InvocationSettings): Promise<InvocationOutcome> {
  const deadline = Date.now() + settings.timeoutSeconds * 1000;
  const context = lambdaContext(settings, deadline);
  let timer: NodeJS.Timeout | undefined;
  let invoked: Promise<InvocationOutcome> | undefined;
  const timedOut = new Promise<InvocationOutcome>((resolve) => {
    timer = setTimeout(() => {
      const grace = new Promise<void>((done) => setTimeout(done, settings.timeoutSeconds * 1000).unref());
      resolve({
        kind: 'error',
        error: new HandlerTimeoutError(settings.timeoutSeconds),
        stillRunning: Promise.race([invoked!.then(() => undefined), grace]),
      });
    }, settings.timeoutSeconds * 1000);
  });
  invoked = (async (): Promise<InvocationOutcome> => {
    try {
      return { kind: 'success', response: await handler(event, context) };
    } catch (error) {
      return { kind: 'error', error: error instanceof Error ? error : new Error(String(error)) };
    }
  })();
  try {
    return await Promise.race([invoked, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function lambdaContext(settings: InvocationSettings, deadline: number): Context {
  const arn = `arn:aws:lambda:${settings.awsRegion}:000000000000:function:${settings.functionName}`;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: settings.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: arn,
    memoryLimitInMB: String(settings.memorySizeMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${settings.functionName}`,
    logStreamName: `local/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
