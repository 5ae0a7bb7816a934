import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Pipeline } from '../../shared/pipeline';
import { eventually, produce, uniqueName, useTestServices } from '../support/integration';
import { killQuietly } from '../support/local-processes';

const ROOT = join(__dirname, '..', '..');
const PIPELINE = join(ROOT, 'test', 'fixtures', 'user-pipeline.ts');

describe('npm start -- --pipeline <module>, as a user runs it (integration)', () => {
  const services = useTestServices('npm-start-test');
  const prefix = `${uniqueName('start')}.`;

  it('runs a user’s own pipeline module, consumes what arrives on its topics, and stops cleanly on Ctrl-C', async () => {
    // Prepare: the test's broker and DynamoDB (KAFKA_BROKERS / DYNAMODB_ENDPOINT), so no second broker starts.
    let stdout = '';
    // In a process group of its own, so that Ctrl-C can be sent as a terminal sends it: to npm and the platform alike.
    // bash execs node in place of the shell, so npm's forwarded SIGINT arrives beside the terminal's: one Ctrl-C, two signals.
    const started = spawn('npm', ['--script-shell=bash', 'start', '--', '--pipeline', PIPELINE], {
      cwd: ROOT,
      env: { ...process.env, USER_PIPELINE_PREFIX: prefix, LOCAL_CONSOLE_PORT: '0' },
      detached: true,
    });
    const ctrlC = () => process.kill(-started.pid!, 'SIGINT');
    started.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    started.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<void>((resolve) => started.on('close', () => resolve()));
    let pipeline: Pipeline | undefined;
    try {
      await eventually('the platform runs', () => stdout.includes('Running. Press Ctrl-C to stop.'), 60_000).catch((error: unknown) => {
        throw new Error(`${String(error)}; it printed:\n${stdout.slice(-2_000)}`);
      });
      // The console is served, and its address printed in the first screen and in the view's header.
      const consoleUrl = /\[local\] Console: (http:\/\/127\.0\.0\.1:\d+\/) /.exec(stdout)?.[1];
      expect(consoleUrl).toBeDefined();
      const page = await fetch(consoleUrl!);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>Pipeline console</title>');
      const graph = (await (await fetch(`${consoleUrl}api/pipeline`)).json()) as { graph: { pipeline: string } };
      expect(graph.graph.pipeline).toBe(`${prefix}orders`.replace(/\./g, '-'));
      jest.isolateModules(() => {
        process.env.USER_PIPELINE_PREFIX = prefix;
        pipeline = (require(PIPELINE) as { default: Pipeline }).default;
      });

      // Act: an order arrives, then Ctrl-C.
      await produce(services.kafka, `${prefix}orders`, [{ key: 'o-1', value: JSON.stringify({ orderId: 'o-1', total: 12 }) }]);
      // The view (every 10 s without a terminal) shows the order consumed and succeeded.
      await eventually('the live view shows the order consumed', () => /order-audit\s+polling\s+1\s+1\s/.test(stdout), 45_000);
      expect(stdout).toContain(`Local platform — up`);
      expect(stdout).toMatch(/Local platform — up \d+ s — Ctrl-C to stop\nConsole: http:\/\/127\.0\.0\.1:\d+\/\n/);
      ctrlC();
      const ended = await Promise.race([exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 45_000).unref())]);
      expect(ended).not.toBe('hung');

      // Assess: the platform finished its batches and stopped its services (npm itself ends on the signal, as in a
      // terminal), and the consumer group was left (no member holds a partition).
      expect(stdout).toMatch(/\[local\] Shutting down: finishing in-flight batches, stopping services…\n\[local\] Stopped\.\n/);
      expect(stdout).not.toContain('Forced exit');
      // The console went with it: its port answers no more.
      await expect(fetch(consoleUrl!)).rejects.toThrow();
      const [group] = (await services.admin.describeGroups([`${pipeline!.name}.order-audit`])).groups;
      expect(group?.members).toEqual([]);
    } finally {
      // Whatever is left of the group after a failure (the group is gone once everything exited).
      killQuietly(-started.pid!, 'SIGKILL');
    }
  }, 180_000);
});
