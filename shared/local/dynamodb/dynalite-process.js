'use strict';
/**
 * The local DynamoDB server's own process, started by startDynamoDbServer
 * (dynalite-server.ts) with an IPC channel; not meant to be run by hand.
 *
 *   node dynalite-process.js --host 127.0.0.1 --port 18000 [--path <LevelDB dir>]
 *                            [--createTableMs 0] [--deleteTableMs 0] [--updateTableMs 0]
 *
 * Plain JavaScript, loading dynalite and nothing else, because it starts with
 * every `npm start`, test run and benchmark: through @swc-node/register it would
 * take about three times as long to come up.
 *
 * With a LevelDB directory it first opens the store itself, so that a store it
 * cannot open (a directory another dynalite holds, say) fails the start with
 * LevelDB's reason; dynalite opens it lazily, and would fail the first request
 * instead, with an unhandled error. It sends `{ type: 'listening', port }` once
 * it listens, and exits, closing the store cleanly, on SIGTERM, SIGINT, or when
 * its parent goes away: the IPC channel closes ('disconnect') even when the
 * parent is killed with SIGKILL.
 */
const { createRequire } = require('node:module');
const { parseArgs } = require('node:util');
const dynalite = require('dynalite');

/** How long to wait for in-flight requests before cutting connections, and for the store to close before exiting anyway. */
const CLOSE_CONNECTIONS_AFTER_MS = 2_000;
const EXIT_ANYWAY_AFTER_MS = 15_000;

if (typeof process.send !== 'function') {
  process.stderr.write('dynalite-process.js runs only as a child of startDynamoDbServer (it needs an IPC channel to its parent)\n');
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    path: { type: 'string' },
    createTableMs: { type: 'string', default: '0' },
    deleteTableMs: { type: 'string', default: '0' },
    updateTableMs: { type: 'string', default: '0' },
  },
});
const host = values.host;
const port = Number(values.port);
const where = `${host}:${values.port}`;

let stopping = false;
// Until the server listens, a parent that goes away only needs this process gone.
let stop = () => process.exit(0);
process.once('disconnect', () => stop());
process.once('SIGTERM', () => stop());
process.once('SIGINT', () => stop());

void start();

async function start() {
  if (values.path && !(await storeOpens(values.path))) process.exit(1);
  const server = dynalite({
    ...(values.path ? { path: values.path } : {}),
    createTableMs: Number(values.createTableMs),
    deleteTableMs: Number(values.deleteTableMs),
    updateTableMs: Number(values.updateTableMs),
  });
  server.once('error', (error) => {
    process.stderr.write(`dynalite could not listen on ${where}: ${error.message}\n`);
    process.exit(1);
  });
  server.listen(port, host, () => {
    stop = () => closeAndExit(server);
    // The parent may be gone already; 'disconnect' then ends this process.
    process.send({ type: 'listening', port: server.address().port }, () => undefined);
  });
}

/** Closes the HTTP server and then the store (dynalite's close does both), then exits. */
function closeAndExit(server) {
  if (stopping) return;
  stopping = true;
  setTimeout(() => server.closeAllConnections(), CLOSE_CONNECTIONS_AFTER_MS).unref();
  setTimeout(() => {
    process.stderr.write(`dynalite on ${where} did not close within ${EXIT_ANYWAY_AFTER_MS} ms; exiting anyway\n`);
    process.exit(1);
  }, EXIT_ANYWAY_AFTER_MS).unref();
  server.closeIdleConnections();
  server.close((error) => {
    if (error) process.stderr.write(`dynalite on ${where} closed with an error: ${error.message}\n`);
    process.exit(error ? 1 : 0);
  });
}

/** Opens and closes the LevelDB store with dynalite's own copy of `level` (loaded already); false, saying why, when it cannot. */
async function storeOpens(path) {
  const { Level } = createRequire(require.resolve('dynalite'))('level');
  const db = new Level(path);
  try {
    await db.open();
  } catch (error) {
    process.stderr.write(`dynalite could not open its LevelDB store in ${path}: ${error.cause?.message ?? error.message}\n`);
    return false;
  }
  await db.close();
  return true;
}
