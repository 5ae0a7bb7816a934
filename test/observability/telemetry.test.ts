import { createTelemetry, DEAD_LETTERED_METRIC } from '../../shared/observability';

describe('createTelemetry', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    jest.restoreAllMocks();
  });

  it('emits dead-lettered records as an embedded metric in the pipeline namespace, with the consumer as service', () => {
    // POWERTOOLS_DEV sends Powertools output to the global console, where it can be read.
    process.env = { ...saved, POWERTOOLS_DEV: 'true', POWERTOOLS_METRICS_DISABLED: 'false', POWERTOOLS_METRICS_NAMESPACE: 'shop' };
    const lines: string[] = [];
    for (const level of ['log', 'info', 'warn'] as const)
      jest.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(String(args[0])));
    const telemetry = createTelemetry('items-with-flyer.left');

    telemetry.deadLettered(2, 'InvalidRecord: value is not JSON');
    telemetry.flush();

    const metric = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => '_aws' in entry)!;
    expect(metric).toMatchObject({ [DEAD_LETTERED_METRIC]: 2, service: 'items-with-flyer.left' });
    expect(JSON.stringify(metric._aws)).toContain('"Namespace":"shop"');
  });

  it('writes nothing for an invocation without metrics', () => {
    process.env = { ...saved, POWERTOOLS_DEV: 'true', POWERTOOLS_METRICS_DISABLED: 'false' };
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);

    createTelemetry('quiet').flush();

    expect(log).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
  });
});
