import { captureKafkaJsConsole, RecentWarnings } from '../../shared/cli/start/recent-warnings';

describe('Class: RecentWarnings', () => {
  it('collapses repeats of one warning into one line with a count, whatever numbers differ', () => {
    // Prepare
    const warnings = new RecentWarnings(3);

    // Act
    for (let attempt = 0; attempt < 40; attempt += 1)
      warnings.add(`ERROR kafkajs: Connection error: connect ECONNREFUSED 127.0.0.1:${19092 + (attempt % 2)}`);
    warnings.add('WARN orders: dead-lettered 1 record(s)');

    // Assess
    expect(warnings.lines()).toEqual([
      '(×40) ERROR kafkajs: Connection error: connect ECONNREFUSED 127.0.0.1:19093',
      'WARN orders: dead-lettered 1 record(s)',
    ]);
  });

  it('keeps only the latest distinct warnings', () => {
    // Prepare
    const warnings = new RecentWarnings(2);

    // Act
    for (const text of ['a', 'b', 'c']) warnings.add(text);

    // Assess
    expect(warnings.lines()).toEqual(['b', 'c']);
  });
});

describe('Function: captureKafkaJsConsole', () => {
  it('routes what kafkajs’s default logger prints to the report, one short line each, and lets everything else through', () => {
    // Prepare
    const reported: string[] = [];
    const printed: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => printed.push(...args);
    const restore = captureKafkaJsConsole((line) => reported.push(line));
    try {
      // Act: exactly what kafkajs's console logger writes.
      console.error(
        JSON.stringify({
          level: 'ERROR',
          timestamp: '2026-12-01T21:41:30.984Z',
          logger: 'kafkajs',
          message: '[Connection] Connection error: connect ECONNREFUSED 127.0.0.1:29092',
          broker: '127.0.0.1:29092',
          clientId: 'join.items',
        }),
      );
      console.error('[local] something else');
    } finally {
      restore();
      console.error = original;
    }

    // Assess
    expect(reported).toEqual(['ERROR kafkajs (join.items): [Connection] Connection error: connect ECONNREFUSED 127.0.0.1:29092']);
    expect(printed).toEqual(['[local] something else']);
  });
});
