import { forEachConcurrently } from '../concurrency';
import type { FkJoin } from './define-join';
import { FkJoinError } from './errors';
import { DecodedValues, isAfter, joinOutput, type JoinPosition } from './join-result';
import type { JoinOutputRecord, JoinOutputSink } from './join-output-sink';
import { JoinStateStore, type LeftRow, type Subscription } from './join-state-store';

/** A left record ready to apply: its key, offset, value (null = tombstone) and the foreign key it names. */
export interface LeftInput {
  readonly key: string;
  readonly offset: number;
  readonly value: Buffer | null;
  /** The value as the left topic's format decoded it (to find the foreign key), so the joiner gets it without parsing again. */
  readonly decodedValue: unknown;
  readonly foreignKey: string | null;
}

/**
 * What may have been published for a key and not recorded in its row: by an earlier attempt of a
 * redelivered batch (assume a value), or by this one before its conditional write failed. Until the
 * key's result is published again, such a record may be the last on the topic.
 */
export type Unrecorded = 'nothing' | 'tombstone' | 'value';

/** A left key whose output is to be brought up to date. */
export interface ConvergeTarget {
  readonly leftKey: string;
  /** A left record to apply; without one, the key's stored row is joined with its right row as they are now. */
  readonly input?: LeftInput;
  unrecorded: Unrecorded;
}

/** The worse of two: a value published and not recorded needs even a tombstone published after it. */
export function worse(a: Unrecorded, b: Unrecorded): Unrecorded {
  return a === 'value' || b === 'value' ? 'value' : a === 'tombstone' || b === 'tombstone' ? 'tombstone' : 'nothing';
}

interface Plan {
  readonly target: ConvergeTarget;
  readonly row: LeftRow | undefined;
  readonly offset: number;
  readonly foreignKey: string | null;
  readonly value: Buffer | null;
  readonly subscribedAt: number | null;
  readonly fresh: boolean;
}

/**
 * Brings the outputs of a set of left keys up to date, as a batch: one
 * BatchWriteItem per 25 new subscriptions, one strong BatchGetItem per 100
 * right rows, one produce per batch, and one conditional write per key.
 *
 * Every result is published *before* the conditional write that records it
 * (on the revision it was computed from). So whoever publishes after the
 * writer of a row's final revision wrote afterwards too, or failed to and
 * went round again: the last record of every key is its final result (see
 * the module README for the whole argument).
 */
export async function converge(
  join: FkJoin,
  store: JoinStateStore,
  sink: JoinOutputSink,
  targets: readonly ConvergeTarget[],
  /** The targets' rows as just read (a key that is absent has no row); later rounds read strongly. */
  initialRows: ReadonlyMap<string, LeftRow>,
): Promise<void> {
  const subscribed = new Set<string>();
  let round = [...new Map(targets.map((target) => [target.leftKey, target])).values()];
  let rows: ReadonlyMap<string, LeftRow> = initialRows;
  const retirements: Subscription[] = [];
  const decoded = new DecodedValues();
  for (const { input } of targets) if (input?.value) decoded.set(input.value, input.decodedValue);
  while (round.length > 0) {
    const plans = round.flatMap((target) => planFor(target, rows.get(target.leftKey)));

    // 1. Subscribe first, then read the right rows: a right update concurrent with this one either
    //    finds the subscription, or is seen by the read below.
    const subscriptions = plans.filter(
      (plan) => plan.fresh && plan.foreignKey !== null && plan.subscribedAt === plan.offset && !subscribed.has(subscriptionId(plan)),
    );
    await store.writeSubscriptions(
      subscriptions.map((plan) => ({
        rightKey: plan.foreignKey!,
        leftKey: plan.target.leftKey,
        subscribedAt: plan.offset,
        retired: false,
      })),
    );
    for (const plan of subscriptions) subscribed.add(subscriptionId(plan));
    const rights = await store.readRightRows([...new Set(plans.flatMap((plan) => (plan.foreignKey === null ? [] : [plan.foreignKey])))]);

    // 2. Compute each key's result; skip keys whose row already holds it.
    const writes: Array<{ plan: Plan; next: Omit<LeftRow, 'rev'>; published: boolean; value: unknown }> = [];
    const toPublish: JoinOutputRecord[] = [];
    const again: ConvergeTarget[] = [];
    for (const plan of plans) {
      const right = plan.foreignKey === null ? undefined : rights.get(plan.foreignKey);
      const position: JoinPosition = { leftOffset: plan.offset, rightOffset: right?.rightOffset ?? -1 };
      const stored =
        plan.row && plan.row.leftOffset >= 0 ? { leftOffset: plan.row.leftOffset, rightOffset: plan.row.outputRightOffset } : undefined;
      const newer = plan.fresh || !stored || isAfter(position, stored);
      if (!newer && position.rightOffset < stored!.rightOffset) {
        // Right offsets only grow and this read was strong: the right topic was recreated (see Limits).
        throw new FkJoinError(
          `join "${join.name}": right key ${plan.foreignKey} is at offset ${position.rightOffset}, behind the ${stored!.rightOffset} the output of ${plan.target.leftKey} was joined with; were the right topic's partitions changed or the topic recreated?`,
          false,
        );
      }
      const value = joinOutput(join, plan.value, right?.value ?? null, decoded);
      // Whatever went out unrecorded must not stay last unless it equals this result's kind.
      const republish = plan.target.unrecorded === 'value' || (plan.target.unrecorded === 'tombstone' && value !== null);
      if (!newer && !republish) continue;
      const published = republish || (newer && (value !== null || plan.row?.emitted === true));
      if (published) toPublish.push({ leftKey: plan.target.leftKey, position, value });
      writes.push({
        plan,
        published,
        value,
        next: {
          leftKey: plan.target.leftKey,
          leftOffset: plan.offset,
          foreignKey: plan.foreignKey,
          value: plan.value,
          subscribedAt: plan.subscribedAt,
          outputRightOffset: position.rightOffset,
          emitted: published ? value !== null : (plan.row?.emitted ?? false),
        },
      });
    }

    // 3. Publish, then record: a write that fails sends its key round again.
    await sink.publish(toPublish);
    await forEachConcurrently(writes, JoinStateStore.writeConcurrency, async ({ plan, next, published, value }) => {
      if (await store.replaceLeftRow(next, plan.row?.rev)) {
        const previous = plan.row;
        if (plan.fresh && previous?.foreignKey != null && previous.subscribedAt !== null && previous.subscribedAt !== next.subscribedAt) {
          retirements.push({
            rightKey: previous.foreignKey,
            leftKey: plan.target.leftKey,
            subscribedAt: previous.subscribedAt,
            retired: true,
          });
        }
      } else {
        if (published) plan.target.unrecorded = worse(plan.target.unrecorded, value === null ? 'tombstone' : 'value');
        again.push(plan.target);
      }
    });
    round = again;
    rows =
      round.length > 0
        ? await store.readLeftRows(
            round.map((target) => target.leftKey),
            true,
          )
        : rows;
  }
  // Retire what moved on only after the move is recorded: until then a right update must still find the key.
  await store.writeSubscriptions(retirements);
}

/** What to join for a key: its new left record when the row holds an older one, else the row itself. */
function planFor(target: ConvergeTarget, row: LeftRow | undefined): Plan[] {
  const input = target.input;
  const fresh = input !== undefined && (row === undefined || row.leftOffset < input.offset);
  if (fresh) {
    const keepsSubscription = input.foreignKey !== null && row?.foreignKey === input.foreignKey && row.subscribedAt !== null;
    return [
      {
        target,
        row,
        fresh,
        offset: input.offset,
        foreignKey: input.foreignKey,
        value: input.value,
        subscribedAt: input.foreignKey === null ? null : keepsSubscription ? row!.subscribedAt : input.offset,
      },
    ];
  }
  // A record the row already holds (or has passed) is a redelivery: an earlier attempt may have published.
  if (input !== undefined) target.unrecorded = 'value';
  if (row === undefined || row.leftOffset < 0) return [];
  return [{ target, row, fresh, offset: row.leftOffset, foreignKey: row.foreignKey, value: row.value, subscribedAt: row.subscribedAt }];
}

function subscriptionId(plan: Plan): string {
  return `${plan.target.leftKey}\u0000${plan.foreignKey}\u0000${plan.offset}`;
}
