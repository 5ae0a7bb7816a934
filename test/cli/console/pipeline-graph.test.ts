import pipeline from '../../../pipeline';
import { consumerNodeId, pipelineGraph, topicNodeId } from '../../../shared/cli/console/pipeline-graph';

describe('pipelineGraph: the pipeline as a picture, from its declaration', () => {
  const graph = pipelineGraph(pipeline);
  const node = (id: string) => graph.nodes.find((placed) => placed.node.id === id)!;

  it('has a node for every topic, consumer and table and for each CDC source, each once', () => {
    const ids = graph.nodes.map((placed) => placed.node.id);

    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(
      [
        ...pipeline.topics.map((topic) => `topic:${topic.name}`),
        ...pipeline.consumers.map((consumer) => `consumer:${consumer.name}`),
        ...pipeline.tables.map((table) => `table:${table.name}`),
        ...pipeline.cdcSources.map(({ source }) => `source:${source.name}`),
      ].sort(),
    );
  });

  it("draws a join as its two consumers, each reading its side, writing the output, dead-lettering and keeping the join's table", () => {
    const offers = pipeline.joins.find((deployed) => deployed.join.name === 'offers')!;
    const edgesOf = (consumer: string) =>
      graph.edges
        .filter((edge) => edge.from === consumerNodeId(consumer) || edge.to === consumerNodeId(consumer))
        .map((edge) => `${edge.kind} ${edge.from} → ${edge.to}`);

    expect(edgesOf('offers.right').sort()).toEqual(
      [
        `consumes topic:${offers.join.rightTopic} → consumer:offers.right`,
        `produces consumer:offers.right → topic:${offers.join.outputTopic}`,
        `dead-letters consumer:offers.right → topic:${offers.join.deadLetterTopic}`,
        `state consumer:offers.right → table:${offers.table.name}`,
      ].sort(),
    );
    expect(node(consumerNodeId('offers.left')).node).toMatchObject({ kind: 'consumer', role: 'join-left', group: 'offers' });
    expect(node(consumerNodeId('prices')).node).toMatchObject({ role: 'hot-stream', group: 'prices' });
    expect(node(consumerNodeId('merchants-from-monolith')).node).toMatchObject({ role: 'cdc-mapping' });
  });

  it('lays the data out left to right: every edge the data follows goes to a later column', () => {
    const backwards = graph.edges
      .filter((edge) => edge.kind === 'consumes' || edge.kind === 'produces' || edge.kind === 'captures')
      .filter((edge) => node(edge.to).column <= node(edge.from).column);

    expect(backwards).toEqual([]);
    // The monolith's rows reach the offers: source, change topic, mapping, merchants, the join's right side, offers.
    expect(node('source:monolith').column).toBe(0);
    expect(node(topicNodeId('offers')).column).toBeGreaterThan(node(topicNodeId('merchants')).column);
  });

  it('puts a consumer’s dead-letter topic and table just right of it, below the data of that column, with no two boxes overlapping', () => {
    const prices = node(consumerNodeId('prices'));
    const dlq = node(topicNodeId('price-updates.dlq'));
    const deltas = node(topicNodeId('price-deltas'));

    expect(dlq.column).toBe(prices.column + 1);
    expect(dlq.y).toBeGreaterThan(deltas.y);
    const boxes = graph.nodes.map((placed) => `${placed.x},${placed.y}`);
    expect(new Set(boxes).size).toBe(boxes.length);
    for (const placed of graph.nodes) {
      expect(placed.x + placed.width).toBeLessThanOrEqual(graph.width);
      expect(placed.y + placed.height).toBeLessThanOrEqual(graph.height);
    }
  });
});
