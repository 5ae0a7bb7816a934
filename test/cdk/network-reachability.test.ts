import { App, type Stack } from 'aws-cdk-lib';
import type { ISecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { CfnSecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { parseDeploymentConfig } from '../../cdk/config';
import { MSK_IAM_PORT } from '../../cdk/network-stack';
import { addPlatformStacks } from '../../cdk/platform';
import { deployablePipeline } from '../fixtures/deployable-pipeline';
import { admittedInto, canLeaveToInternet, canOpen, securityGroupRules, type Rule } from './reachability';
import {
  debeziumPluginDirectory,
  MONOLITH_DATABASE,
  PLUGIN_RESOLUTION_TIMEOUT_MS,
  synthesize,
  TEST_ENVIRONMENTS,
  type Synthesized,
} from './synthesize';

const HTTPS = 443;

/**
 * The rules of every template, with the platform's groups named "functions", "cluster", "endpoints", the CDC
 * connector's "connector" and the monolith database's "database".
 */
function rulesOf(synthesized: Synthesized): Rule[] {
  const { network } = synthesized.stacks;
  const names = new Map<string, string>();
  const name = (group: ISecurityGroup, as: string, stack: Stack) => {
    const child = group.node.defaultChild;
    names.set(child instanceof CfnSecurityGroup ? stack.getLogicalId(child) : group.securityGroupId, as);
  };
  name(network.functionSecurityGroup, 'functions', network);
  name(network.clusterSecurityGroup, 'cluster', network);
  for (const endpoints of network.endpointSecurityGroups) name(endpoints, 'endpoints', network);
  for (const connector of network.cdcConnectorSecurityGroups.values()) name(connector, 'connector', network);
  names.set(MONOLITH_DATABASE.securityGroupId, 'database');
  const templates = Object.values(synthesized.templates).filter((template) => template !== undefined);
  return securityGroupRules(templates, names);
}

const ENVIRONMENTS = ['dev', 'nat', 'existing'] as const;

describe('CDK: who can reach whom', () => {
  const environments = new Map<(typeof ENVIRONMENTS)[number], Synthesized>();
  beforeAll(async () => {
    for (const environment of ENVIRONMENTS) environments.set(environment, await synthesize(environment));
  }, PLUGIN_RESOLUTION_TIMEOUT_MS);

  describe.each(ENVIRONMENTS)('in environment "%s"', (environment) => {
    const rules = () => rulesOf(environments.get(environment)!);
    /** The monolith's port in that environment (the existing one uses a pooler's). */
    const databasePort = environment === 'existing' ? 6432 : 5432;

    it('lets the event source pollers, which run in the cluster’s group, open the broker port to the brokers', () => {
      expect(canOpen(rules(), 'cluster', 'cluster', MSK_IAM_PORT)).toBe(true);
    });

    it('lets the functions open the broker port to the brokers, to produce', () => {
      expect(canOpen(rules(), 'functions', 'cluster', MSK_IAM_PORT)).toBe(true);
    });

    it('lets the pollers reach STS and Lambda on 443, through endpoints that admit them or a NAT gateway', () => {
      const throughEndpoints = canOpen(rules(), 'cluster', 'endpoints', HTTPS);
      const throughNat = canLeaveToInternet(rules(), 'cluster', HTTPS);
      expect(environment === 'nat' ? throughNat : throughEndpoints).toBe(true);
    });

    it('lets the functions reach the AWS API endpoints on 443', () => {
      if (environment === 'nat') expect(canLeaveToInternet(rules(), 'functions', HTTPS)).toBe(true);
      else expect(canOpen(rules(), 'functions', 'endpoints', HTTPS)).toBe(true);
    });

    it('lets the CDC connector open the broker port to the brokers, to write the change topics', () => {
      expect(canOpen(rules(), 'connector', 'cluster', MSK_IAM_PORT)).toBe(true);
    });

    it('lets the CDC connector leave only to the brokers and to its database’s port', () => {
      const egress = rules()
        .filter((rule) => rule.direction === 'egress' && rule.group === 'connector')
        .map((rule) => `${rule.peer}:${rule.fromPort}-${rule.toPort}`);
      expect(egress.sort()).toEqual([`cluster:${MSK_IAM_PORT}-${MSK_IAM_PORT}`, `database:${databasePort}-${databasePort}`]);
    });

    it('admits nobody else to the brokers, and only on the broker port', () => {
      expect(admittedInto(rules(), 'cluster')).toEqual([
        `cluster:${MSK_IAM_PORT}-${MSK_IAM_PORT}`,
        `connector:${MSK_IAM_PORT}-${MSK_IAM_PORT}`,
        `functions:${MSK_IAM_PORT}-${MSK_IAM_PORT}`,
      ]);
    });

    it('lets the brokers’ group leave only to itself on the broker port and to the AWS APIs on 443', () => {
      const egress = rules()
        .filter((rule) => rule.direction === 'egress' && rule.group === 'cluster')
        .map((rule) => `${rule.peer}:${rule.fromPort}-${rule.toPort}`);
      expect(egress.sort()).toEqual(
        [`cluster:${MSK_IAM_PORT}-${MSK_IAM_PORT}`, environment === 'nat' ? '0.0.0.0/0:443-443' : 'endpoints:443-443'].sort(),
      );
    });
  });

  it('admits the CDC connector to the database’s group on the database’s port, unless the database’s owners add that rule themselves', () => {
    expect(canOpen(rulesOf(environments.get('dev')!), 'connector', 'database', 5432)).toBe(true);
    expect(admittedInto(rulesOf(environments.get('dev')!), 'database')).toEqual(['connector:5432-5432']);
    // addSecurityGroupRules: false: the connector may leave to the database, which this app does not touch.
    expect(admittedInto(rulesOf(environments.get('existing')!), 'database')).toEqual([]);
  });

  it('builds a NAT gateway per zone, and public subnets for them, only when asked for', () => {
    environments.get('nat')!.templates.network.resourceCountIs('AWS::EC2::NatGateway', 3);
    environments.get('nat')!.templates.network.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    environments.get('dev')!.templates.network.resourceCountIs('AWS::EC2::NatGateway', 0);
  });

  it('adds no rule to an existing cluster’s group when its owners manage the rules themselves', async () => {
    const platform = JSON.parse(JSON.stringify(TEST_ENVIRONMENTS)) as typeof TEST_ENVIRONMENTS;
    (platform.environments.existing.kafka as Record<string, unknown>).addSecurityGroupRules = false;
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stacks = addPlatformStacks(app, deployablePipeline, parseDeploymentConfig(platform, 'existing'), {
      debeziumPluginDirectory: await debeziumPluginDirectory(),
    });
    const template = app.synth().getStackByName(stacks.network.stackName).template as {
      Resources: Record<string, { Type: string; Properties: { GroupId?: unknown } }>;
    };
    const rulesOnClusterGroup = Object.values(template.Resources).filter(
      (resource) => resource.Type.startsWith('AWS::EC2::SecurityGroup') && resource.Properties.GroupId === 'sg-0123456789abcdef0',
    );

    expect(rulesOnClusterGroup).toEqual([]);
    expect(JSON.stringify(template)).toContain('sg-0eeeeeeeeeeeeeee1');
  });
});
