import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { JoinStateStore } from '../../fk-join';
import { CliError, type CliContext } from '../context';

/** `state <join> <key>`: what a join holds for a key, as left key and as right key. */
export async function stateCommand(context: CliContext, joinName: string | undefined, key: string | undefined): Promise<void> {
  if (!joinName || !key) throw new CliError('state needs a join name and a key');
  const deployed = context.pipeline.joins.find((candidate) => candidate.join.name === joinName);
  if (!deployed) throw new CliError(`no join "${joinName}" in pipeline "${context.pipeline.name}" (there are: ${context.pipeline.joins.map((join) => join.join.name).join(', ') || 'none'})`);
  const documents = DynamoDBDocumentClient.from(context.dynamodb());
  const store = new JoinStateStore(documents, deployed.table.name);
  const text = (value: Buffer | null | undefined) => (value === null || value === undefined ? value ?? null : value.toString('utf8'));
  const left = await store.getLeft(key);
  const right = await store.getRight(key);
  const output = (await store.getOutputs([key])).get(key);
  const { subscriptions } = await store.subscribers(key, 50, undefined);
  const state = {
    join: joinName,
    key,
    asLeft: left ? { ...left, value: text(left.value) } : null,
    output: output ? { ...output, value: text(output.value) } : null,
    asRight: right ? { ...right, value: text(right.value) } : null,
    /** Left keys referring to this key as right key (first 50); retired ones no longer do. */
    subscribers: subscriptions.map((subscription) => ({ leftKey: subscription.leftKey, leftOffset: subscription.leftOffset, retired: subscription.retired })),
  };
  context.print(state, () => JSON.stringify(state, null, 2));
}
