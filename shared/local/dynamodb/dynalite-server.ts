import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import dynalite from 'dynalite';
import { DynamoDbServerError } from '../errors';
import { assertPortFree } from '../ports';

export interface DynamoDbServerOptions {
  readonly port: number;
  /** Keep tables on disk (LevelDB) here; by default they live in memory and vanish on stop. */
  readonly dataDir?: string;
}

export interface DynamoDbServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * Starts dynalite, the DynamoDB API on LevelDB, on 127.0.0.1. Table creation and
 * deletion are instant, unlike AWS, so provisioning does not wait.
 * Dynalite has no TransactWriteItems and no TTL expiry: code must use single-item conditional writes.
 */
export async function startDynamoDbServer(options: DynamoDbServerOptions): Promise<DynamoDbServer> {
  const host = '127.0.0.1';
  await assertPortFree('the local DynamoDB server (dynalite)', host, options.port, 'LOCAL_DYNAMODB_PORT');
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const server: Server = dynalite({
    ...(options.dataDir ? { path: options.dataDir } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new DynamoDbServerError(`dynalite could not listen on ${host}:${options.port}: ${error.message}`, false, { cause: error })),
    );
    server.listen(options.port, host, () => resolve());
  });
  return {
    endpoint: `http://${host}:${options.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
