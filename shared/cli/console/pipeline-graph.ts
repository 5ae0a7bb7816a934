import type { Pipeline, TopicKind } from '../../pipeline';
import { deadLetterTopicOrNone } from '../operations/pipeline-parts';

/** What a node of the pipeline's picture stands for. */
export type GraphNode =
  | { readonly id: string; readonly kind: 'topic'; readonly name: string; readonly topicKind: TopicKind; readonly partitions: number }
  | {
      readonly id: string;
      readonly kind: 'consumer';
      readonly name: string;
      /** What declared it: a join's left or right side, a hot stream, a CDC mapping, or the pipeline's own consumers. */
      readonly role: 'join-left' | 'join-right' | 'hot-stream' | 'cdc-mapping' | 'consumer';
      /** The join, hot stream or mapping it belongs to. */
      readonly group: string | null;
      readonly deadLetterTopic: string | null;
    }
  | { readonly id: string; readonly kind: 'table'; readonly name: string }
  | { readonly id: string; readonly kind: 'source'; readonly name: string; readonly database: string };

/** consumes: topic → consumer; produces: consumer → topic; dead-letters: consumer → its DLQ; state: consumer → table; captures: source → change topic. */
export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: 'consumes' | 'produces' | 'dead-letters' | 'state' | 'captures';
}

/** A node where the picture draws it: its column (data flows left to right) and its box. */
export interface PlacedNode {
  readonly node: GraphNode;
  readonly column: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface PipelineGraph {
  readonly pipeline: string;
  readonly nodes: readonly PlacedNode[];
  readonly edges: readonly GraphEdge[];
  readonly width: number;
  readonly height: number;
}

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 58;
const COLUMN_GAP = 70;
const ROW_GAP = 18;
const MARGIN = 20;

export const topicNodeId = (name: string) => `topic:${name}`;
export const consumerNodeId = (name: string) => `consumer:${name}`;
const tableNodeId = (name: string) => `table:${name}`;
const sourceNodeId = (name: string) => `source:${name}`;

/**
 * The pipeline as a graph, from its declaration alone: every topic, consumer,
 * table and CDC source, with edges for what each consumer reads and writes.
 * Columns follow the data: a node sits one column right of the furthest node
 * feeding it; dead-letter topics and tables sit just right of their consumers.
 */
export function pipelineGraph(pipeline: Pipeline): PipelineGraph {
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const roles = consumerRoles(pipeline);
  for (const topic of pipeline.topics)
    nodes.set(topicNodeId(topic.name), {
      id: topicNodeId(topic.name),
      kind: 'topic',
      name: topic.name,
      topicKind: topic.kind,
      partitions: topic.partitions,
    });
  for (const { source, mappings } of pipeline.cdcSources) {
    nodes.set(sourceNodeId(source.name), { id: sourceNodeId(source.name), kind: 'source', name: source.name, database: source.database });
    for (const mapping of mappings)
      edges.push({ from: sourceNodeId(source.name), to: topicNodeId(mapping.changeTopic.name), kind: 'captures' });
  }
  for (const consumer of pipeline.consumers) {
    const id = consumerNodeId(consumer.name);
    const role = roles.get(consumer.name) ?? { role: 'consumer' as const, group: null };
    const deadLetterTopic = deadLetterTopicOrNone(consumer) ?? null;
    nodes.set(id, { id, kind: 'consumer', name: consumer.name, ...role, deadLetterTopic });
    edges.push({ from: topicNodeId(consumer.topic.name), to: id, kind: 'consumes' });
    for (const topic of consumer.produces)
      if (topic.name !== deadLetterTopic) edges.push({ from: id, to: topicNodeId(topic.name), kind: 'produces' });
    if (deadLetterTopic) edges.push({ from: id, to: topicNodeId(deadLetterTopic), kind: 'dead-letters' });
    for (const table of consumer.tables) {
      nodes.set(tableNodeId(table.name), { id: tableNodeId(table.name), kind: 'table', name: table.name });
      edges.push({ from: id, to: tableNodeId(table.name), kind: 'state' });
    }
  }
  return placed(pipeline.name, nodes, edges);
}

function consumerRoles(pipeline: Pipeline): Map<string, { role: Extract<GraphNode, { kind: 'consumer' }>['role']; group: string }> {
  const roles = new Map<string, { role: Extract<GraphNode, { kind: 'consumer' }>['role']; group: string }>();
  for (const { join, leftConsumer, rightConsumer } of pipeline.joins) {
    roles.set(leftConsumer.name, { role: 'join-left', group: join.name });
    roles.set(rightConsumer.name, { role: 'join-right', group: join.name });
  }
  for (const { stream, consumer } of pipeline.hotStreams) roles.set(consumer.name, { role: 'hot-stream', group: stream.name });
  for (const { mappings } of pipeline.cdcSources)
    for (const { mapping, consumer } of mappings) roles.set(consumer.name, { role: 'cdc-mapping', group: mapping.name });
  return roles;
}

/** Columns by longest path over the data edges (bounded, so a circular pipeline still draws), rows ordered by their feeders. */
function placed(pipelineName: string, nodes: ReadonlyMap<string, GraphNode>, edges: readonly GraphEdge[]): PipelineGraph {
  const column = new Map<string, number>([...nodes.keys()].map((id) => [id, 0]));
  const flow = edges.filter((edge) => edge.kind === 'consumes' || edge.kind === 'produces' || edge.kind === 'captures');
  for (let pass = 0; pass < nodes.size; pass += 1) {
    let moved = false;
    for (const edge of flow) {
      const next = (column.get(edge.from) ?? 0) + 1;
      if (next > (column.get(edge.to) ?? 0)) {
        column.set(edge.to, next);
        moved = true;
      }
    }
    if (!moved) break;
  }
  // A dead-letter topic or a table sits right after the furthest consumer writing it, unless data flows from it.
  const fed = new Set(flow.map((edge) => edge.to));
  for (const edge of edges)
    if ((edge.kind === 'dead-letters' || edge.kind === 'state') && !fed.has(edge.to)) {
      const after = (column.get(edge.from) ?? 0) + 1;
      const current = column.get(edge.to) ?? 0;
      if (current === 0 || after > current) column.set(edge.to, after);
    }
  const sideNodes = new Set(edges.filter((edge) => edge.kind === 'dead-letters' || edge.kind === 'state').map((edge) => edge.to));
  const sideOf = (id: string) => (sideNodes.has(id) ? 1 : 0);
  const columns = new Map<number, string[]>();
  for (const id of nodes.keys()) columns.set(column.get(id)!, [...(columns.get(column.get(id)!) ?? []), id]);
  const row = new Map<string, number>();
  const feeders = (id: string) => edges.filter((edge) => edge.to === id).map((edge) => row.get(edge.from));
  for (const index of [...columns.keys()].sort((a, b) => a - b)) {
    const ids = columns.get(index)!;
    // Each node near the nodes feeding it (the mean of their rows), so edges cross less; ties keep declaration order.
    const weight = (id: string) => {
      const known = feeders(id).filter((value): value is number => value !== undefined);
      return known.length === 0 ? Number.POSITIVE_INFINITY : known.reduce((sum, value) => sum + value, 0) / known.length;
    };
    // Dead-letter topics and tables below the data's own path, so the flow reads top to bottom first.
    const ordered = ids
      .map((id, order) => ({ id, order, side: fed.has(id) || nodes.get(id)?.kind === 'source' ? 0 : sideOf(id), weight: weight(id) }))
      .sort((a, b) => a.side - b.side || a.weight - b.weight || a.order - b.order);
    for (const [position, { id }] of ordered.entries()) row.set(id, position);
  }
  const placedNodes = [...nodes.values()].map((node): PlacedNode => {
    const at = column.get(node.id)!;
    return {
      node,
      column: at,
      x: MARGIN + at * (NODE_WIDTH + COLUMN_GAP),
      y: MARGIN + row.get(node.id)! * (NODE_HEIGHT + ROW_GAP),
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
    };
  });
  const width = Math.max(...placedNodes.map((node) => node.x + node.width), 0) + MARGIN;
  const height = Math.max(...placedNodes.map((node) => node.y + node.height), 0) + MARGIN;
  return { pipeline: pipelineName, nodes: placedNodes, edges, width, height };
}
