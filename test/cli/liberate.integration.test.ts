import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provisionTopics } from '../../shared/local';
import type { Pipeline } from '../../shared/pipeline';
import { readValue, topicValueFormat } from '../../shared/schemas';
import { CLI_PIPELINE, loadCliPipeline } from '../support/cli-fixture';
import {
  answersOffsetRequests,
  eventually,
  provisionPipelineAndLeaders,
  readTopic,
  recordCount,
  uniqueName,
  useTestServices,
} from '../support/integration';
import { runPlatform } from '../support/run-platform';

describe('Command: liberate, run as a user runs it (integration)', () => {
  const services = useTestServices('liberate-test');
  let pipeline: Pipeline;
  const prefix = `${uniqueName('liberate')}.`;

  /** Runs `platform <args>` against the test services, with the fixture pipeline under this file's prefix. */
  const platform = (args: readonly string[]) =>
    runPlatform([...args, '--pipeline', CLI_PIPELINE], { env: { ...process.env, CLI_TEST_PREFIX: prefix } });
  const liberate = (topic: string, file: string, keyField: string, ...more: string[]) =>
    platform(['liberate', topic, '--file', file, '--key-field', keyField, '--json', ...more]);
  const formatOf = (topic: string) =>
    topicValueFormat(pipeline.topics.find((declared) => declared.name === topic)!, () => services.runtime.schemaRegistry());
  const endOffset = (topic: string) => recordCount(services.kafka, topic);
  /** A snapshot file of its own, in a directory of its own (the checkpoint is written beside it). */
  const snapshot = (name: string, lines: readonly string[], ending = '\n') => {
    const file = join(mkdtempSync(join(tmpdir(), 'liberate-')), name);
    writeFileSync(file, lines.join(ending));
    return file;
  };

  beforeAll(async () => {
    pipeline = loadCliPipeline(prefix);
    await provisionPipelineAndLeaders(services, pipeline);
  });

  it('liberates again into a fresh topic instead of trusting an old checkpoint', async () => {
    // Prepare: a snapshot liberated once, then its topic deleted and created again (as a fresh cluster would have it).
    const topic = `${prefix}merchants-snapshot`;
    const file = snapshot('merchants.ndjson', [
      '{"merchantId":"f-1","name":"One","country":"DE","website":null}',
      '{"merchantId":"f-2","name":"Two","country":"FR","website":null}',
      '{"merchantId":"f-3","name":"Three","country":"PT","website":null}',
    ]);
    const first = await liberate(topic, file, 'merchantId');
    expect(JSON.parse(first.stdout)).toMatchObject({ produced: 3, rejected: 0 });
    await recreate(topic);

    // Act
    const again = await liberate(topic, file, 'merchantId');

    // Assess: not "already liberated": sent again, saying why.
    expect(again.code).toBe(0);
    const result = JSON.parse(again.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ produced: 3, rejected: 0, resumedAfterLine: 0 });
    expect(result.alreadyComplete).toBeUndefined();
    expect(result.startedOverBecause).toMatch(
      /does not apply: partition \d of ".*merchants-snapshot" ends at offset 0, short of the \d+ it reached/,
    );
    expect(again.stderr).toMatch(/^liberate: starting over, as the checkpoint .* does not apply/);
    expect(await endOffset(topic)).toBe(3);
    expect((await readTopic(services.kafka, topic, 3)).map((record) => record.key).sort()).toEqual(['f-1', 'f-2', 'f-3']);
    // A third run on the same cluster, with the topic holding what the checkpoint says, trusts it.
    const third = await liberate(topic, file, 'merchantId');
    expect(JSON.parse(third.stdout)).toMatchObject({ alreadyComplete: true, produced: 3 });
    expect(await endOffset(topic)).toBe(3);
  });

  it('resumes a liberation that stopped part-way after the last acknowledged line, sending only the rest', async () => {
    // Prepare: a run's checkpoint, as the run would have left it had it stopped after its first acknowledged line.
    const topic = `${prefix}merchants`;
    const file = snapshot('merchants.ndjson', [
      '\uFEFF{"merchantId":"r-1","name":"One","country":"DE","website":null}',
      '{"merchantId":"r-2","name":"Two","country":"FR","website":null}',
      '{"merchantId":"r-3","name":"Three","country":"PT","website":null}',
    ]);
    await liberate(topic, file, 'merchantId');
    const checkpointFile = `${file}.liberate-checkpoint.json`;
    const finished = JSON.parse(readFileSync(checkpointFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(checkpointFile, JSON.stringify({ ...finished, completed: false, linesDone: 1, produced: 1 }));
    const before = await endOffset(topic);

    // Act
    const resumed = await liberate(topic, file, 'merchantId');

    // Assess
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ resumedAfterLine: 1, produced: 3, rejected: 0 });
    expect((await endOffset(topic)) - before).toBe(2);
    const keys = (await readTopic(services.kafka, topic, before + 2)).map((record) => record.key);
    expect(keys.sort()).toEqual(['r-1', 'r-2', 'r-2', 'r-3', 'r-3']);
  });

  it('rejects a short and a long row with their line numbers and produces the others', async () => {
    const topic = `${prefix}flyers`;
    const file = snapshot(
      'flyers.csv',
      [
        'flyerId,merchantId,title,validFrom,validUntil',
        'fl-1,m-1,One,1767225600000,1767830400000',
        'fl-2,m-1,Short,1767225600000',
        'fl-3,m-1,Long,1767225600000,1767830400000,north',
        'fl-4,m-2,"Four, or more",1767225600000,1767830400000',
        '',
      ],
      '\r\n',
    );
    const before = await endOffset(topic);

    const run = await liberate(topic, file, 'flyerId');

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      linesRead: 4,
      rowsRead: 4,
      produced: 2,
      rejected: 2,
      rejectedRows: [
        { line: 3, problems: ['4 cell(s) where the header has 5 column(s) (a short row)'] },
        { line: 4, problems: ['6 cell(s) where the header has 5 column(s) (a long row)'] },
      ],
    });
    // Not a TTY: no progress lines, one summary line.
    expect(run.stderr).toMatch(/^liberate: 4 row\(s\) read \(\d+ B\) in [\d.]+ s: 2 produced, 2 rejected\n$/);
    expect((await endOffset(topic)) - before).toBe(2);
    const records = await readTopic(services.kafka, topic, before + 2);
    expect(
      records
        .filter((record) => record.key?.startsWith('fl-'))
        .map((record) => record.key)
        .sort(),
    ).toEqual(['fl-1', 'fl-4']);
    const four = records.find((record) => record.key === 'fl-4')!;
    expect(await readValue(formatOf(topic), four.valueBytes)).toMatchObject({ title: 'Four, or more' });
  });

  it('keeps a newline inside a quoted cell', async () => {
    const file = snapshot('flyers-multiline.csv', [
      'flyerId,merchantId,title,validFrom,validUntil',
      'nl-1,m-1,"Deals',
      'of the ""week""",1767225600000,1767830400000',
      'nl-2,m-1,Short',
      'nl-3,m-1,Plain,1767225600000,1767830400000',
    ]);
    const flyers = `${prefix}flyers`;
    const before = await endOffset(flyers);

    const run = await liberate(flyers, file, 'flyerId');

    expect(run.code).toBe(0);
    // Four physical lines, three rows; the row after the two-line one is numbered by the line it is on.
    expect(JSON.parse(run.stdout)).toMatchObject({
      linesRead: 4,
      rowsRead: 3,
      produced: 2,
      rejected: 1,
      rejectedRows: [{ line: 4, problems: [expect.stringMatching(/a short row/)] }],
    });
    expect((await endOffset(flyers)) - before).toBe(2);
    const records = await readTopic(services.kafka, flyers, before + 2);
    const multiline = records.find((record) => record.key === 'nl-1')!;
    expect(await readValue(formatOf(flyers), multiline.valueBytes)).toEqual({
      flyerId: 'nl-1',
      merchantId: 'm-1',
      title: 'Deals\nof the "week"',
      validFrom: 1767225600000,
      validUntil: 1767830400000,
    });
  });

  it('refuses a key field the file does not have before reading, with exit code 2', async () => {
    const topic = `${prefix}flyers`;
    // A field of the entity the file names otherwise: every row would be rejected.
    const csv = snapshot('flyers.csv', ['id,merchantId,title,validFrom,validUntil', 'k-1,m-1,One,1767225600000,1767830400000']);
    // A column the file has, but not a field of the entity: every row would be rejected too.
    const ndjson = snapshot('flyers.ndjson', [
      '{"flyer_id":"k-2","flyerId":"k-2","merchantId":"m-1","title":"Two","validFrom":1,"validUntil":2}',
    ]);
    const before = await endOffset(topic);

    const notAColumn = await platform(['liberate', topic, '--file', csv, '--key-field', 'flyerId']);
    const notAField = await platform(['liberate', topic, '--file', ndjson, '--key-field', 'flyer_id']);

    expect(notAColumn.code).toBe(2);
    expect(notAColumn.stderr).toMatch(
      /^error: --key-field "flyerId" is not a column of .*flyers\.csv \(its columns: id, merchantId, title, validFrom, validUntil\); nothing was produced\nRun with --help/,
    );
    expect(notAField.code).toBe(2);
    expect(notAField.stderr).toMatch(
      /^error: --key-field "flyer_id" is not a field of schema flyers-value \(its fields: flyerId, merchantId, title, validFrom, validUntil\); nothing was produced/,
    );
    expect(notAColumn.stdout + notAField.stdout).toBe('');
    expect(await endOffset(topic)).toBe(before);
    // Nothing started: no checkpoint to resume from.
    expect([csv, ndjson].map((file) => existsSync(`${file}.liberate-checkpoint.json`))).toEqual([false, false]);
  });

  it('refuses to liberate into a join output topic', async () => {
    const topic = `${prefix}items-with-flyer`;
    const file = snapshot('joined.ndjson', ['{"item":{},"flyer":{}}']);
    const before = await endOffset(topic);

    const run = await platform(['liberate', topic, '--file', file, '--key-field', 'itemId']);
    const deltas = await platform(['liberate', `${prefix}price-deltas`, '--file', file, '--key-field', 'itemId']);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^error: topic ".*items-with-flyer" is the output of join ".*items-with-flyer": liberate feeds the entity topics the monolith owns, never one the pipeline derives; nothing was produced\n/,
    );
    expect(deltas.code).toBe(2);
    expect(deltas.stderr).toMatch(/is the deltas of hot stream/);
    expect(await endOffset(topic)).toBe(before);
    expect(existsSync(`${file}.liberate-checkpoint.json`)).toBe(false);
  });

  /** Deletes a declared topic and creates it again, empty, as the pipeline declares it. */
  async function recreate(topic: string): Promise<void> {
    const { admin } = services;
    await admin.deleteTopics({ topics: [topic] });
    await eventually(`${topic} is deleted`, async () => !(await admin.listTopics()).includes(topic));
    await eventually(`${topic} is created again`, () =>
      provisionTopics(
        admin,
        pipeline.topics.filter((declared) => declared.name === topic),
      ).then(
        () => true,
        () => false,
      ),
    );
    await eventually(`${topic} answers offset requests`, () => answersOffsetRequests(admin, topic));
  }
});
