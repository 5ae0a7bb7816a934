import { isAfter, type JoinType } from '../../shared/fk-join';
import { useTestServices } from '../support/integration';
import { JoinHarness, kip213Join, pipelineFor } from './join-harness';

type Output = [key: string, value: string | null];

/**
 * The Kafka Streams FK-join table (KIP-213 with KAFKA-16394/16407/18713), run
 * through the real broker, dynalite and the event-source emulator. Each step
 * produces, waits until the join is idle, and asserts the exact list of records
 * the step added to the output topic (ordered by key; per key in log order).
 */
describe.each<JoinType>(['inner', 'left'])('Foreign-key join (%s) — KIP-213 semantics (integration)', (type) => {
  const services = useTestServices(`kip213-${type}`);
  let harness: JoinHarness;
  let seen: number;
  let join: ReturnType<typeof kip213Join>;

  /** Produces, waits for the join to settle, and returns what the output topic gained. */
  async function step(topic: 'left' | 'right', records: Array<[string, string | null]>): Promise<Output[]> {
    await harness.produce(topic === 'left' ? join.leftTopic : join.rightTopic, records);
    await harness.settle();
    const added = harness.newOutputs(join.outputTopic, seen);
    seen += added.length;
    return added.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  beforeEach(async () => {
    // Every test gets its own topics, table and consumer groups.
    join = kip213Join(type);
    seen = 0;
    harness = new JoinHarness(services.runtime, services.kafka, pipelineFor(join));
    await harness.start();
  });
  afterEach(async () => {
    await harness.stop();
  });

  it('joins left rows to existing right rows and emits exactly one tombstone when a left row is deleted', async () => {
    // Right rows alone produce nothing.
    expect(
      await step('right', [
        ['rhs1', 'a'],
        ['rhs2', 'b'],
        ['rhs3', 'c'],
      ]),
    ).toEqual([]);
    expect(
      await step('left', [
        ['lhs1', 'v1|rhs1'],
        ['lhs2', 'v2|rhs2'],
      ]),
    ).toEqual([
      ['lhs1', '(v1|rhs1,a)'],
      ['lhs2', '(v2|rhs2,b)'],
    ]);
    expect(await step('left', [['lhs3', 'v3|rhs1']])).toEqual([['lhs3', '(v3|rhs1,a)']]);
    expect(await step('left', [['lhs1', null]])).toEqual([['lhs1', null]]);
    // Deleting an already deleted row emits nothing: the join remembers its last output.
    expect(await step('left', [['lhs1', null]])).toEqual([]);
  });

  it('follows a foreign-key change and its revert with no intermediate tombstone', async () => {
    await step('right', [
      ['rhs1', 'a'],
      ['rhs2', 'b'],
    ]);

    expect(await step('left', [['lhs1', 'v1|rhs1']])).toEqual([['lhs1', '(v1|rhs1,a)']]);
    expect(await step('left', [['lhs1', 'v1|rhs2']])).toEqual([['lhs1', '(v1|rhs2,b)']]);
    expect(await step('left', [['lhs1', 'v1|rhs1']])).toEqual([['lhs1', '(v1|rhs1,a)']]);
  });

  it('fans a right update out to every subscribed left row, and a right delete retracts or nulls them', async () => {
    const withoutRight: Output[] =
      type === 'left'
        ? [
            ['lhs1', '(|rhs1,null)'],
            ['lhs2', '(|rhs2,null)'],
            ['lhs3', '(|rhs1,null)'],
          ]
        : [];
    expect(
      await step('left', [
        ['lhs1', '|rhs1'],
        ['lhs2', '|rhs2'],
        ['lhs3', '|rhs1'],
      ]),
    ).toEqual(withoutRight);

    expect(await step('right', [['rhs1', 'a']])).toEqual([
      ['lhs1', '(|rhs1,a)'],
      ['lhs3', '(|rhs1,a)'],
    ]);
    // A right row nobody refers to produces nothing.
    expect(await step('right', [['rhs3', 'c']])).toEqual([]);
    expect(await step('right', [['rhs1', null]])).toEqual(
      type === 'inner'
        ? [
            ['lhs1', null],
            ['lhs3', null],
          ]
        : [
            ['lhs1', '(|rhs1,null)'],
            ['lhs3', '(|rhs1,null)'],
          ],
    );
  });

  it('stops sending updates of the old right row to a left row whose foreign key changed', async () => {
    await step('right', [
      ['rhs1', 'a'],
      ['rhs2', 'b'],
    ]);
    await step('left', [['lhs1', 'v1|rhs1']]);
    await step('left', [['lhs1', 'v1|rhs2']]);

    expect(await step('right', [['rhs1', 'a2']])).toEqual([]);
    expect(await step('right', [['rhs2', 'b2']])).toEqual([['lhs1', '(v1|rhs2,b2)']]);
  });

  it(type === 'left' ? 'emits (L,null) for a null foreign key' : 'drops a null foreign key, retracting an earlier result', async () => {
    await step('right', [['rhs1', 'a']]);

    if (type === 'left') {
      expect(await step('left', [['lhs1', 'v1|']])).toEqual([['lhs1', '(v1|,null)']]);
      expect(await step('left', [['lhs2', 'v2|rhs1']])).toEqual([['lhs2', '(v2|rhs1,a)']]);
      expect(await step('left', [['lhs2', 'v2|']])).toEqual([['lhs2', '(v2|,null)']]);
    } else {
      expect(await step('left', [['lhs1', 'v1|']])).toEqual([]);
      expect(await step('left', [['lhs2', 'v2|rhs1']])).toEqual([['lhs2', '(v2|rhs1,a)']]);
      expect(await step('left', [['lhs2', 'v2|']])).toEqual([['lhs2', null]]);
    }
  });

  it('tags every output with its position (left offset, right offset), increasing per key', async () => {
    await step('right', [['rhs1', 'a']]);
    await step('left', [['lhs1', 'v1|rhs1']]);
    await step('right', [['rhs1', 'a2']]);
    await step('left', [['lhs1', null]]);

    const positions = harness
      .outputsOf(join.outputTopic)
      .filter((record) => record.key === 'lhs1')
      .map((record) => record.position);
    expect(positions).toHaveLength(3);
    expect(positions[1]).toEqual({ leftOffset: positions[0]!.leftOffset, rightOffset: positions[0]!.rightOffset + 1 });
    expect(positions[2]).toEqual({ leftOffset: positions[0]!.leftOffset + 1, rightOffset: -1 });
    for (let index = 1; index < positions.length; index += 1) expect(isAfter(positions[index]!, positions[index - 1])).toBe(true);
  });
});
