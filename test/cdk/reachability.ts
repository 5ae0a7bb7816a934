import type { Template } from 'aws-cdk-lib/assertions';

/**
 * Who may open which TCP port to whom, read from synthesized templates the way
 * EC2 evaluates security groups: a connection from group A to group B on port P
 * needs an egress rule of A that admits (B or an address range covering it) on P
 * and an ingress rule of B that admits A on P. Groups are named by the caller;
 * a reference to a group (`Fn::GetAtt`, a cross-stack `Fn::ImportValue`, or a
 * literal `sg-…` id) is resolved to its name.
 */
export interface Rule {
  readonly direction: 'ingress' | 'egress';
  readonly group: string;
  /** A named group, or an IPv4 range. */
  readonly peer: string;
  readonly fromPort: number;
  readonly toPort: number;
}

export type GroupNames = ReadonlyMap<string, string>;

/** A security group rule as a template writes it: inline in a group, or the properties of a standalone rule. */
interface TemplateRule {
  readonly IpProtocol: unknown;
  readonly CidrIp?: string;
  readonly SourceSecurityGroupId?: unknown;
  readonly DestinationSecurityGroupId?: unknown;
  /** Absent when IpProtocol is -1 (all ports), where it is not read. */
  readonly FromPort?: number;
  readonly ToPort?: number;
}

/** The security group rules in the templates, inline and standalone, with groups named by `names` (logical id or sg- id → name). */
export function securityGroupRules(templates: readonly Template[], names: GroupNames): Rule[] {
  const nameOf = (reference: unknown): string => {
    const text = JSON.stringify(reference);
    for (const [id, name] of names) if (text.includes(id)) return name;
    return `unknown:${text}`;
  };
  const rules: Rule[] = [];
  const add = (direction: Rule['direction'], group: string, raw: TemplateRule) => {
    const protocol = String(raw.IpProtocol);
    if (protocol !== 'tcp' && protocol !== '-1') return;
    const peer = raw.CidrIp ?? nameOf(raw.SourceSecurityGroupId ?? raw.DestinationSecurityGroupId);
    const all = protocol === '-1';
    rules.push({ direction, group, peer, fromPort: all ? 0 : raw.FromPort!, toPort: all ? 65_535 : raw.ToPort! });
  };
  for (const template of templates) {
    for (const [logicalId, resource] of Object.entries(template.findResources('AWS::EC2::SecurityGroup'))) {
      const group = nameOf(logicalId);
      for (const raw of resource.Properties.SecurityGroupIngress ?? []) add('ingress', group, raw);
      for (const raw of resource.Properties.SecurityGroupEgress ?? []) add('egress', group, raw);
    }
    for (const resource of Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')))
      add('ingress', nameOf(resource.Properties.GroupId), resource.Properties);
    for (const resource of Object.values(template.findResources('AWS::EC2::SecurityGroupEgress')))
      add('egress', nameOf(resource.Properties.GroupId), resource.Properties);
  }
  return rules;
}

/** Whether group `from` may open `port` on group `to`. */
export function canOpen(rules: readonly Rule[], from: string, to: string, port: number): boolean {
  const covers = (rule: Rule) => rule.fromPort <= port && port <= rule.toPort;
  const leaves = rules.some(
    (rule) => rule.direction === 'egress' && rule.group === from && (rule.peer === to || rule.peer === '0.0.0.0/0') && covers(rule),
  );
  const enters = rules.some((rule) => rule.direction === 'ingress' && rule.group === to && rule.peer === from && covers(rule));
  return leaves && enters;
}

/** Whether group `from` may leave to any address on `port` (through a NAT gateway). */
export function canLeaveToInternet(rules: readonly Rule[], from: string, port: number): boolean {
  return rules.some(
    (rule) =>
      rule.direction === 'egress' && rule.group === from && rule.peer === '0.0.0.0/0' && rule.fromPort <= port && port <= rule.toPort,
  );
}

/** The groups (or ranges) that some rule admits into `to`, on any port. */
export function admittedInto(rules: readonly Rule[], to: string): string[] {
  return [
    ...new Set(
      rules
        .filter((rule) => rule.direction === 'ingress' && rule.group === to)
        .map((rule) => `${rule.peer}:${rule.fromPort}-${rule.toPort}`),
    ),
  ].sort();
}
