import { readMappingSwitchesDir } from '../../local/config';
import { isMappingEnabled, setMappingEnabled } from '../../local/mapping-switches';
import { CliError, UsageError, type CliContext } from '../context';
import { consumerNamed } from '../operations/pipeline-parts';
import { nothingAnswers } from '../explain-failure';

/** How long `disable`/`enable` wait for the running `npm start` to leave or join the consumer's group. */
const SWITCH_TIMEOUT_MS = 60_000;

/**
 * `mapping list|enable|disable [<consumer>]`: the local runtime's stand-in for
 * an event source mapping's `Enabled` flag, so one consumer can be replayed
 * while the rest of `npm start` keeps running:
 *
 *   platform mapping disable offers.left      # npm start finishes the batch in flight, commits, leaves the group
 *   platform replay offers.left --from earliest
 *   platform mapping enable offers.left       # npm start polls again, from the replayed offsets
 *
 * The switch is a file under `.local/mappings/` (it outlives a restart, as
 * AWS's flag does); the command then waits until the group shows it took effect.
 */
export async function mappingCommand(context: CliContext, action: string | undefined, consumerName: string | undefined): Promise<void> {
  if (context.target.localServices === undefined) {
    throw new UsageError(
      'mapping acts on the local runtime; in AWS use `aws lambda update-event-source-mapping --uuid <mapping uuid> --no-enabled` (or --enabled)',
    );
  }
  const switches = readMappingSwitchesDir(context.env);
  if (action === 'list') {
    if (consumerName !== undefined) throw new UsageError('mapping list takes no consumer');
    const mappings = context.pipeline.consumers.map((consumer) => ({
      consumer: consumer.name,
      enabled: isMappingEnabled(switches, consumer.name),
    }));
    context.print(mappings, () => mappings.map(({ consumer, enabled }) => `${enabled ? 'enabled ' : 'DISABLED'}  ${consumer}`).join('\n'));
    return;
  }
  if (action !== 'enable' && action !== 'disable') throw new UsageError(`mapping needs list, enable or disable, got "${action ?? ''}"`);
  if (consumerName === undefined) throw new UsageError(`mapping ${action} needs a consumer`);
  const consumer = consumerNamed(context.pipeline, consumerName);
  const enabled = action === 'enable';
  setMappingEnabled(switches, consumer.name, enabled);

  const groupId = consumer.eventSource.consumerGroupId;
  const admin = (await context.kafka()).admin();
  let members: number;
  try {
    await admin.connect();
    members = await waitForMembers(
      async () => (await admin.describeGroups([groupId])).groups[0]?.members.length ?? 0,
      (count) => (enabled ? count > 0 : count === 0),
    );
  } catch (error) {
    // Nothing answers: the switch is set, and npm start reads it when it starts.
    if (context.target.localServices.kafka !== undefined && nothingAnswers(error)) {
      context.print(
        { consumer: consumer.name, enabled, running: false },
        () => `${consumer.name} ${action}d; npm start is not running and will start ${enabled ? 'with' : 'without'} it`,
      );
      return;
    }
    throw error;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  if (enabled ? members === 0 : members > 0) {
    throw new CliError(
      `${consumer.name} is ${action}d, but group ${groupId} still has ${members} member(s) after ${SWITCH_TIMEOUT_MS / 1000} s: is npm start running this checkout?`,
    );
  }
  context.print({ consumer: consumer.name, enabled, groupId, members }, () =>
    enabled
      ? `${consumer.name} enabled: group ${groupId} has ${members} member(s) again`
      : `${consumer.name} disabled: group ${groupId} has no members; replay it with \`platform replay ${consumer.name} --from …\`, then \`platform mapping enable ${consumer.name}\``,
  );
}

async function waitForMembers(count: () => Promise<number>, done: (members: number) => boolean): Promise<number> {
  const deadline = Date.now() + SWITCH_TIMEOUT_MS;
  for (;;) {
    const members = await count();
    if (done(members) || Date.now() > deadline) return members;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
