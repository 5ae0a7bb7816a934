'use strict';
/**
 * The Kafka broker's keeper, started by startKafkaBroker (kafka-broker.ts) with
 * an IPC channel; not meant to be run by hand.
 *
 *   node broker-watchdog.js --grace-ms 10000 [--remove <dir>]… [--record <file>] -- java <args>…
 *
 * It starts the JVM as its own child (in its own process group, which this
 * process leads) and ties the JVM's life to the parent's: when the IPC channel
 * closes, which happens however the parent ends (SIGKILL, SIGHUP, a crash), or
 * on SIGTERM/SIGINT/SIGHUP, it stops the JVM (SIGTERM, then SIGKILL after the
 * grace period), removes the `--remove` directories (a temporary data dir) and
 * the `--record` file, and exits. When the JVM exits by itself it tells the
 * parent (`{ type: 'exited', code, signal }`), cleans up the same way and exits 1.
 * It sends `{ type: 'started', pid }` once the JVM runs.
 *
 * The parent watches this process in turn: if it dies, the parent kills the
 * JVM (this process's group). If both are killed at once, the record file is
 * how the next start recognises the broker left behind.
 *
 * Plain JavaScript with no dependencies, for the same reason as dynalite-process.js:
 * it starts with every `npm start` and test run.
 */
const { spawn } = require('node:child_process');
const { rmSync } = require('node:fs');
const { parseArgs } = require('node:util');

if (typeof process.send !== 'function') {
  process.stderr.write('broker-watchdog.js runs only as a child of startKafkaBroker (it needs an IPC channel to its parent)\n');
  process.exit(2);
}

const separator = process.argv.indexOf('--');
const { values } = parseArgs({
  args: process.argv.slice(2, separator),
  options: {
    'grace-ms': { type: 'string', default: '10000' },
    remove: { type: 'string', multiple: true, default: [] },
    record: { type: 'string' },
  },
});
const [command, ...args] = process.argv.slice(separator + 1);
const graceMs = Number(values['grace-ms']);

// stdout and stderr are the broker's log file; the JVM writes to it too.
const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
let stopping = false;

child.once('error', (error) => {
  process.stderr.write(`broker-watchdog: could not start ${command}: ${error.message}\n`);
  cleanUpAndExit(1);
});
child.once('spawn', () => tell({ type: 'started', pid: child.pid }));
child.once('exit', (code, signal) => {
  if (stopping) return cleanUpAndExit(0);
  process.stderr.write(`broker-watchdog: the broker exited by itself (${signal ? `signal ${signal}` : `code ${code}`})\n`);
  // The parent hears how the broker ended before it sees this process exit.
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
  child.kill('SIGTERM');
  setTimeout(() => {
    process.stderr.write(`broker-watchdog: the broker did not stop within ${graceMs} ms of SIGTERM; killing it\n`);
    child.kill('SIGKILL');
  }, graceMs).unref();
  // The 'exit' listener above cleans up once the JVM has gone.
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
