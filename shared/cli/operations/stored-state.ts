import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { JoinStateStore } from '../../fk-join';
import { HotStateStore } from '../../hot-path';
import { UsageError } from '../errors';
import type { PlatformAccess } from './platform-access';
import { hotStreamNamed, joinNamed } from './pipeline-parts';

/** What a join's state holds for a key, as left key and as right key (values as the objects they are). */
export interface JoinStateView {
  readonly kind: 'join';
  readonly join: string;
  readonly key: string;
  /** The left row holds the left record and where the join's output for it stands. */
  readonly asLeft: {
    readonly leftOffset: number;
    readonly foreignKey: string | null;
    readonly value: unknown;
    readonly output: { readonly position: string; readonly lastPublished: string };
    readonly subscribedAt: number | null;
    readonly rev: number;
  } | null;
  readonly asRight: { readonly rightOffset: number; readonly value: unknown } | null;
  /** Subscription entries of this key as right key (first 50); retired ones no longer refer to it. */
  readonly subscribers: ReadonlyArray<{ readonly leftKey: string; readonly subscribedAt: number; readonly retired: boolean }>;
}

/** What a hot stream's state holds for a key: the newest update stored, and what was last emitted for it. */
export interface HotStateView {
  readonly kind: 'hot stream';
  readonly stream: string;
  readonly key: string;
  readonly state: {
    readonly value: unknown;
    readonly sourceOffset: number;
    readonly emittedValue: unknown;
    readonly emittedOffset: number | null;
    readonly emittedAt: string | null;
    /** The input partition the key waits in for its next emission, and when it is due; null when nothing is owed. */
    readonly pending: { readonly partition: string; readonly dueAt: string | null } | null;
    /** True when an emission was claimed and never confirmed: it may be lost, and is emitted again. */
    readonly emissionClaimed: boolean;
    readonly traceId: string | null;
  } | null;
}

/** The names `state` takes: every join's and every hot stream's. */
export function storeNames(access: PlatformAccess): { joins: string[]; hotStreams: string[] } {
  return {
    joins: access.pipeline.joins.map((deployed) => deployed.join.name),
    hotStreams: access.pipeline.hotStreams.map((deployed) => deployed.stream.name),
  };
}

/** A key in a join's or a hot stream's state, by the join's or stream's name (neither: UsageError listing both). */
export async function storedStateOf(access: PlatformAccess, name: string, key: string): Promise<JoinStateView | HotStateView> {
  const { joins, hotStreams } = storeNames(access);
  if (hotStreams.includes(name)) return hotStateOf(access, name, key);
  if (joins.includes(name)) return joinStateOf(access, name, key);
  throw new UsageError(
    `no join or hot stream "${name}" in pipeline "${access.pipeline.name}" (joins: ${joins.join(', ') || 'none'}; hot streams: ${hotStreams.join(', ') || 'none'})`,
  );
}

/** What a join holds for a key: as left row, its output, as right row, its subscribers. */
export async function joinStateOf(access: PlatformAccess, joinName: string, key: string): Promise<JoinStateView> {
  const deployed = joinNamed(access.pipeline, joinName);
  const documents = DynamoDBDocumentClient.from(access.dynamodb());
  // Locally the declared name; in a deployed environment the name CloudFormation gave the table.
  const store = new JoinStateStore(documents, await access.tableName(deployed.table.name));
  // The join keeps its rows as JSON (its codecs are plain JSON): shown as the objects they are, not as strings.
  const text = (value: Buffer | null | undefined) => (value === null || value === undefined ? null : parsedValue(value.toString('utf8')));
  const left = (await store.readLeftRows([key], true)).get(key);
  const right = (await store.readRightRows([key])).get(key);
  const { subscriptions } = await store.subscriptions(key, 50, undefined);
  return {
    kind: 'join',
    join: joinName,
    key,
    asLeft: left
      ? {
          leftOffset: left.leftOffset,
          foreignKey: left.foreignKey,
          value: text(left.value),
          output: {
            position: `${left.leftOffset}:${left.outputRightOffset}`,
            lastPublished: left.emitted ? 'value' : 'tombstone or nothing',
          },
          subscribedAt: left.subscribedAt,
          rev: left.rev,
        }
      : null,
    asRight: right ? { rightOffset: right.rightOffset, value: text(right.value) } : null,
    subscribers: subscriptions.map((subscription) => ({
      leftKey: subscription.leftKey,
      subscribedAt: subscription.subscribedAt,
      retired: subscription.retired,
    })),
  };
}

/** What a hot stream holds for a key. */
export async function hotStateOf(access: PlatformAccess, streamName: string, key: string): Promise<HotStateView> {
  const deployed = hotStreamNamed(access.pipeline, streamName);
  const store = new HotStateStore(DynamoDBDocumentClient.from(access.dynamodb()), await access.tableName(deployed.table.name));
  const state = await store.get(key);
  const time = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    kind: 'hot stream',
    stream: streamName,
    key,
    state: state
      ? {
          value: state.value,
          sourceOffset: state.sourceOffset,
          emittedValue: state.emittedValue,
          emittedOffset: state.emittedOffset ?? null,
          emittedAt: time(state.emittedAt),
          pending: state.pendingPartition === undefined ? null : { partition: state.pendingPartition, dueAt: time(state.dueAt) },
          emissionClaimed: state.emissionClaimed,
          traceId: state.trace?.context.traceId ?? null,
        }
      : null,
  };
}

/** A stored value as the object it holds; as text when it is not JSON. */
function parsedValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
