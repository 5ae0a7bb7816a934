import { join } from 'node:path';
import { writersOf } from '../../shared/cli/liberate/writers-of';
import { defineCatalog } from '../../example';
import { definePipeline } from '../../shared/pipeline';

const NOOP = { entry: join(__dirname, '..', 'fixtures', 'noop-handler.ts') };
const catalog = defineCatalog('t.');
const pipeline = definePipeline({
  name: 't',
  topics: catalog.topics,
  consumers: [
    {
      name: 'merchant-directory',
      handler: NOOP,
      topic: 't.merchants',
      eventSource: { maximumRetryAttempts: 0, onFailure: { kind: 'kafka', topic: 't.merchants.dlq' } },
    },
  ],
  joins: [
    { join: catalog.itemsWithFlyer, handler: NOOP },
    { join: catalog.offers, handler: NOOP },
  ],
  hotStreams: [{ stream: catalog.prices, handler: NOOP }],
});

describe('Function: writersOf', () => {
  it('names the join that writes a join output, even one another join reads', () => {
    expect(writersOf(pipeline, 't.items-with-flyer')).toEqual(['the output of join "t.items-with-flyer"']);
    expect(writersOf(pipeline, 't.offers')).toEqual(['the output of join "t.offers"']);
  });

  it('names hot stream deltas and dead-letter topics', () => {
    expect(writersOf(pipeline, 't.price-deltas')).toEqual(['the deltas of hot stream "t.prices"']);
    expect(writersOf(pipeline, 't.offers.dlq')).toEqual(['the dead letters of join "t.offers"']);
    expect(writersOf(pipeline, 't.merchants.dlq')).toEqual(['the on-failure destination of consumer "merchant-directory"']);
  });

  it('names nobody for the entity topics the monolith owns', () => {
    expect(['t.merchants', 't.flyers', 't.items'].map((topic) => writersOf(pipeline, topic))).toEqual([[], [], []]);
  });
});
