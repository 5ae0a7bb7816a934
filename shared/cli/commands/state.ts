import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { JoinStateStore } from '../../fk-join';
import { CliError, type CliContext } from '../context';

/** `state <join> <key>`: what a join holds for a key, as left key and as right key. */
export async function stateCommand(context: CliContext, joinName: string | undefined, key: string | undefined): Promise<void> {
  if (!joinName || !key) throw new CliError('state needs a join name and a key');
  const deployed = context.pipeline.joins.find((candidate) => candidate.join.name === joinName);
  if (!deployed) throw new CliError(`no join "${joinName}" in pipeline "${context.pipeline.name}" (there are: ${context.pipeline.joins.map((join) => join.join.name).join(', ') || 'none'})`);
  const documents = DynamoDBDocumentClient.from(context.dynamodb());
  // Locally the declared name; in a deployed environment the name CloudFormation gave the table.
  const store = new JoinStateStore(documents, await context.tableName(deployed.table.name));
  const text = (value: Buffer | null | undefined) => (value === null || value === undefined ? value ?? null : value.toString('utf8'));
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
          output: { position: `${left.leftOffset}:${left.outputRightOffset}`, lastPublished: left.emitted ? 'value' : 'tombstone or nothing' },
          subscribedAt: left.subscribedAt,
          rev: left.rev,
        }
      : null,
    asRight: right ? { rightOffset: right.rightOffset, value: text(right.value) } : null,
    /** Subscription entries of this key as right key (first 50); retired ones no longer refer to it. */
    subscribers: subscriptions.map((subscription) => ({ leftKey: subscription.leftKey, subscribedAt: subscription.subscribedAt, retired: subscription.retired })),
  };
  context.print(state, () => JSON.stringify(state, null, 2));
}
