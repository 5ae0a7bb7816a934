import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { JoinStateStore } from '../../fk-join';
import { UsageError, type CliContext } from '../context';

/** `state <join> <key>`: what a join holds for a key, as left key and as right key. */
export async function stateCommand(context: CliContext, joinName: string | undefined, key: string | undefined): Promise<void> {
  if (!joinName || !key) throw new UsageError('state needs a join name and a key');
  const deployed = context.pipeline.joins.find((candidate) => candidate.join.name === joinName);
  if (!deployed)
    throw new UsageError(
      `no join "${joinName}" in pipeline "${context.pipeline.name}" (there are: ${context.pipeline.joins.map((join) => join.join.name).join(', ') || 'none'})`,
    );
  const documents = DynamoDBDocumentClient.from(context.dynamodb());
  // Locally the declared name; in a deployed environment the name CloudFormation gave the table.
  const store = new JoinStateStore(documents, await context.tableName(deployed.table.name));
  // The join keeps its rows as JSON (its codecs are plain JSON): shown as the objects they are, not as strings.
  const text = (value: Buffer | null | undefined) => (value === null || value === undefined ? null : parsedValue(value.toString('utf8')));
  const left = (await store.readLeftRows([key], true)).get(key);
  const right = (await store.readRightRows([key])).get(key);
  const { subscriptions } = await store.subscriptions(key, 50, undefined);
  const state = {
    join: joinName,
    key,
    /** The left row holds the left record and where the join's output for it stands. */
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
    /** Subscription entries of this key as right key (first 50); retired ones no longer refer to it. */
    subscribers: subscriptions.map((subscription) => ({
      leftKey: subscription.leftKey,
      subscribedAt: subscription.subscribedAt,
      retired: subscription.retired,
    })),
  };
  context.print(state, () => stateAsText(state));
}

/** A stored value as the object it holds; as text when it is not JSON. */
function parsedValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A JSON value indented under a heading. */
function block(value: unknown, indent: string): string {
  return JSON.stringify(value, null, 2)
    .split('\n')
    .map((line) => `${indent}${line}`)
    .join('\n');
}

/** The state for people: one section per role of the key, values as indented JSON. */
function stateAsText(state: {
  join: string;
  key: string;
  asLeft: {
    leftOffset: number;
    foreignKey: string | null;
    value: unknown;
    output: { position: string; lastPublished: string };
    subscribedAt: number | null;
    rev: number;
  } | null;
  asRight: { rightOffset: number; value: unknown } | null;
  subscribers: Array<{ leftKey: string; subscribedAt: number; retired: boolean }>;
}): string {
  const lines = [`join ${state.join}, key ${state.key}`];
  if (state.asLeft) {
    const left = state.asLeft;
    lines.push(
      `as left row: offset ${left.leftOffset}, foreign key ${left.foreignKey ?? '(none)'}, subscribed at ${left.subscribedAt ?? '(not subscribed)'}, rev ${left.rev}`,
      `  output: position ${left.output.position}, last published ${left.output.lastPublished}`,
      '  value:',
      block(left.value, '    '),
    );
  } else lines.push('as left row: none');
  if (state.asRight) lines.push(`as right row: offset ${state.asRight.rightOffset}`, '  value:', block(state.asRight.value, '    '));
  else lines.push('as right row: none');
  lines.push(`subscribers (as right key, first 50): ${state.subscribers.length === 0 ? 'none' : ''}`);
  for (const subscriber of state.subscribers)
    lines.push(`  ${subscriber.leftKey} subscribed at ${subscriber.subscribedAt}${subscriber.retired ? ' (retired)' : ''}`);
  return lines.join('\n');
}
