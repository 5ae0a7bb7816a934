'use strict';
/**
 * A local service's keeper (the Kafka broker, PostgreSQL, the Kafka Connect
 * worker), started by startUnderWatchdog (service-keeper.ts) with an IPC
 * channel; not meant to be run by hand.
 *
 *   node service-watchdog.js --grace-ms 10000 [--stop-signal SIGTERM] [--remove <dir>]… [--record <file>] -- <command> <args>…
 *
 * It starts the service as its own child (in its own process group, which this
 * process leads) and ties the service's life to the parent's: when the IPC channel
 * closes, which happens however the parent ends (SIGKILL, SIGHUP, a crash), or
 * on SIGTERM/SIGINT/SIGHUP, it stops the service (--stop-signal, then SIGKILL after the
 * grace period), removes the `--remove` directories (a temporary data dir) and
 * the `--record` file, and exits. When the service exits by itself it tells the
 * parent (`{ type: 'exited', code, signal }`), cleans up the same way and exits 1.
 * It sends `{ type: 'started', pid }` once the service runs.
 *
 * The parent watches this process in turn: if it dies, the parent kills the
 * service (this process's group). If both are killed at once, the record file is
 * how the next start recognises a service left behind.
 *
 * Plain JavaScript with no dependencies, for the same reason as dynalite-process.js:
 * it starts with every `npm start` and test run.
 */
const { spawn } = require('node:child_process');
const { rmSync } = require('node:fs');
const { parseArgs } = require('node:util');

if (typeof process.send !== 'function') {
  process.stderr.write('service-watchdog.js runs only as a child of startUnderWatchdog (it needs an IPC channel to its parent)\n');
  process.exit(2);
}

const separator = process.argv.indexOf('--');
const { values } = parseArgs({
  args: process.argv.slice(2, separator),
  options: {
    'grace-ms': { type: 'string', default: '10000' },
    // PostgreSQL's fast shutdown is SIGINT (SIGTERM waits for every client to leave).
    'stop-signal': { type: 'string', default: 'SIGTERM' },
    remove: { type: 'string', multiple: true, default: [] },
    record: { type: 'string' },
  },
});
const [command, ...args] = process.argv.slice(separator + 1);
const graceMs = Number(values['grace-ms']);
const stopSignal = values['stop-signal'];

// stdout and stderr are the service's log file; the service writes to it too.
const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
let stopping = false;

child.once('error', (error) => {
  process.stderr.write(`service-watchdog: could not start ${command}: ${error.message}\n`);
  cleanUpAndExit(1);
});
child.once('spawn', () => tell({ type: 'started', pid: child.pid }));
child.once('exit', (code, signal) => {
  if (stopping) return cleanUpAndExit(0);
  process.stderr.write(`service-watchdog: ${command} exited by itself (${signal ? `signal ${signal}` : `code ${code}`})\n`);
  // The parent hears how the service ended before it sees this process exit.
  tell({ type: 'exited', code, signal }, () => cleanUpAndExit(1));
});

process.once('disconnect', stop);
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('SIGHUP', stop);

function stop() {
  if (stopping) return;
  stopping = true;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return cleanUpAndExit(0);
  child.kill(stopSignal);
  setTimeout(() => {
    process.stderr.write(`service-watchdog: ${command} did not stop within ${graceMs} ms of ${stopSignal}; killing it\n`);
    child.kill('SIGKILL');
  }, graceMs).unref();
  // The 'exit' listener above cleans up once the service has gone.
}

function cleanUpAndExit(code) {
  for (const dir of values.remove) rmSync(dir, { recursive: true, force: true });
  if (values.record) rmSync(values.record, { force: true });
  process.exit(code);
}

function tell(message, then = () => undefined) {
  if (process.connected) process.send(message, () => then());
  else then();
}
