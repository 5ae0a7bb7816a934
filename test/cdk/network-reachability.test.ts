import { App, type Stack } from 'aws-cdk-lib';
import type { ISecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { CfnSecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { parseDeploymentConfig } from '../../cdk/config';
import { MSK_IAM_PORT } from '../../cdk/network-stack';
import { addPlatformStacks } from '../../cdk/platform';
import { deployablePipeline } from '../fixtures/deployable-pipeline';
import { admittedInto, canLeaveToInternet, canOpen, securityGroupRules, type Rule } from './reachability';
import { synthesize, TEST_ENVIRONMENTS, type Synthesized } from './synthesize';

const HTTPS = 443;

/** The rules of every template, with the platform's groups named "functions", "cluster" and "endpoints". */
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
  return securityGroupRules(Object.values(synthesized.templates), names);
}

describe('CDK: who can reach whom', () => {
  const environments = { dev: synthesize('dev'), nat: synthesize('nat'), existing: synthesize('existing') };

  describe.each(Object.keys(environments) as Array<keyof typeof environments>)('in environment "%s"', (environment) => {
    const rules = rulesOf(environments[environment]);

    it('lets the event source pollers, which run in the cluster’s group, open the broker port to the brokers', () => {
      expect(canOpen(rules, 'cluster', 'cluster', MSK_IAM_PORT)).toBe(true);
    });

    it('lets the functions open the broker port to the brokers, to produce', () => {
      expect(canOpen(rules, 'functions', 'cluster', MSK_IAM_PORT)).toBe(true);
    });

    it('lets the pollers reach STS and Lambda on 443, through endpoints that admit them or a NAT gateway', () => {
      const throughEndpoints = canOpen(rules, 'cluster', 'endpoints', HTTPS);
      const throughNat = canLeaveToInternet(rules, 'cluster', HTTPS);
      expect(environment === 'nat' ? throughNat : throughEndpoints).toBe(true);
    });

    it('lets the functions reach the AWS API endpoints on 443', () => {
      if (environment === 'nat') expect(canLeaveToInternet(rules, 'functions', HTTPS)).toBe(true);
      else expect(canOpen(rules, 'functions', 'endpoints', HTTPS)).toBe(true);
    });

    it('admits nobody else to the brokers, and only on the broker port', () => {
      expect(admittedInto(rules, 'cluster')).toEqual([
        `cluster:${MSK_IAM_PORT}-${MSK_IAM_PORT}`,
        `functions:${MSK_IAM_PORT}-${MSK_IAM_PORT}`,
      ]);
    });

    it('lets the brokers’ group leave only to itself on the broker port and to the AWS APIs on 443', () => {
      const egress = rules
        .filter((rule) => rule.direction === 'egress' && rule.group === 'cluster')
        .map((rule) => `${rule.peer}:${rule.fromPort}-${rule.toPort}`);
      expect(egress.sort()).toEqual(
        [`cluster:${MSK_IAM_PORT}-${MSK_IAM_PORT}`, environment === 'nat' ? '0.0.0.0/0:443-443' : 'endpoints:443-443'].sort(),
      );
    });
  });

  it('builds a NAT gateway per zone, and public subnets for them, only when asked for', () => {
    environments.nat.templates.network.resourceCountIs('AWS::EC2::NatGateway', 3);
    environments.nat.templates.network.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    environments.dev.templates.network.resourceCountIs('AWS::EC2::NatGateway', 0);
  });

  it('adds no rule to an existing cluster’s group when its owners manage the rules themselves', () => {
    const platform = JSON.parse(JSON.stringify(TEST_ENVIRONMENTS)) as typeof TEST_ENVIRONMENTS;
    (platform.environments.existing.kafka as Record<string, unknown>).addSecurityGroupRules = false;
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stacks = addPlatformStacks(app, deployablePipeline, parseDeploymentConfig(platform, 'existing'));
    const template = JSON.stringify(app.synth().getStackByName(stacks.network.stackName).template);

    expect(template).not.toContain('sg-0123456789abcdef0');
    expect(template).toContain('sg-0eeeeeeeeeeeeeee1');
  });
});
