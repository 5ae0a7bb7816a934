import { Stack, Validations, type StackProps } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  GatewayVpcEndpointAwsService,
  InterfaceVpcEndpointAwsService,
  IpAddresses,
  Peer,
  Port,
  SecurityGroup,
  type ISecurityGroup,
  SubnetType,
  Vpc,
  type IVpc,
  type SubnetSelection,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { CdcSourceConfig, KafkaClusterConfig, NetworkConfig } from './config';

/** MSK's IAM-authenticated TLS listener: the one port clients, pollers included, open to the brokers. */
export const MSK_IAM_PORT = 9098;
/** Where the AWS APIs (STS, Lambda, MSK, Secrets Manager) listen, through an endpoint or a NAT gateway. */
const HTTPS_PORT = 443;

export interface NetworkStackProps extends StackProps {
  readonly network: NetworkConfig;
  /** Whose security group the brokers use: a new one for a new cluster, or the existing cluster's. */
  readonly kafka: KafkaClusterConfig;
  /** The functions read a secret (the schema registry's credentials): a new VPC gets a Secrets Manager endpoint. */
  readonly secretsManagerEndpoint?: boolean;
  /** The database of each CDC source, by source name: each source's connector gets a group of its own. */
  readonly cdcSources?: Readonly<Record<string, CdcSourceConfig>>;
}

/**
 * The VPC the cluster and consumers live in, and every rule of who may open
 * which port to whom (the rules are listed in cdk/README.md).
 *
 * Lambda runs an MSK event source mapping's pollers in the cluster's subnets
 * with the **cluster's** security groups, not the function's. So the cluster's
 * group admits itself on the broker port and may leave to itself on it, and it
 * reaches STS (IAM auth) and Lambda (invoking the function) on 443: through
 * interface endpoints that admit it (the default for a new VPC), a NAT
 * gateway, or an existing VPC's endpoints named by security group. The
 * functions' own group reaches the brokers on the same port, and the endpoints.
 *
 * A new VPC has private subnets in at least two zones, no NAT unless asked for,
 * a DynamoDB gateway endpoint and flow logs. An existing VPC is named by id and
 * subnets (no lookup, so synth needs no credentials).
 */
export class NetworkStack extends Stack {
  readonly vpc: IVpc;
  readonly privateSubnets: SubnetSelection;
  /** The platform's functions run in this group; the brokers and the VPC endpoints let it in. */
  readonly functionSecurityGroup: ISecurityGroup;
  /** The brokers' group, which Lambda also gives the event source pollers. */
  readonly clusterSecurityGroup: ISecurityGroup;
  /** The interface endpoints' group(s) the platform admitted itself to (none with NAT). */
  readonly endpointSecurityGroups: readonly ISecurityGroup[];
  /** Each CDC source's MSK Connect workers, by source name: they reach the brokers and the source's database. */
  readonly cdcConnectorSecurityGroups: ReadonlyMap<string, ISecurityGroup>;

  override get availabilityZones(): string[] {
    return this.namedZones ? [...this.namedZones] : super.availabilityZones;
  }

  /** Zones named in the configuration: the stack answers with them instead of looking them up (offline synth). */
  private namedZones: readonly string[] | undefined;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const { network, kafka } = props;
    this.namedZones = network.availabilityZones;
    if (this.namedZones) {
      Validations.of(this).acknowledge({
        id: 'CloudFormation-Validate::W3010',
        reason:
          'Zones are named in cdk.json on purpose: synth then needs no AWS lookup (offline, no credentials), and MSK needs a known, fixed zone count.',
      });
    }
    if (network.mode === 'existing') {
      this.vpc = Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: network.vpcId,
        availabilityZones: [...network.availabilityZones],
        privateSubnetIds: [...network.privateSubnetIds],
      });
      this.privateSubnets = { subnets: this.vpc.privateSubnets };
    } else {
      const nat = network.awsApiAccess.kind === 'nat';
      this.vpc = new Vpc(this, 'Vpc', {
        ipAddresses: IpAddresses.cidr('10.40.0.0/16'),
        ...(network.availabilityZones ? { availabilityZones: [...network.availabilityZones] } : { maxAzs: network.zoneCount }),
        // One NAT gateway per zone: a zone's outage does not cut the other zones' pollers off from STS and Lambda.
        natGateways: nat ? network.zoneCount : 0,
        subnetConfiguration: nat
          ? [
              { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
              { name: 'private', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
            ]
          : [{ name: 'private', subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 20 }],
        flowLogs: {
          all: {
            destination: FlowLogDestination.toCloudWatchLogs(new LogGroup(this, 'FlowLogs', { retention: RetentionDays.THREE_MONTHS })),
          },
        },
      });
      this.privateSubnets = { subnetType: nat ? SubnetType.PRIVATE_WITH_EGRESS : SubnetType.PRIVATE_ISOLATED };
      this.vpc.addGatewayEndpoint('DynamoDb', { service: GatewayVpcEndpointAwsService.DYNAMODB });
    }
    // Functions talk to the brokers, the endpoints, DynamoDB and the schema registry (wherever the user runs it).
    this.functionSecurityGroup = new SecurityGroup(this, 'Functions', {
      vpc: this.vpc,
      description: 'Lambda functions of the pipeline',
      allowAllOutbound: true,
    });

    const manageClusterRules = kafka.mode === 'provisioned' || kafka.addSecurityGroupRules;
    this.clusterSecurityGroup =
      kafka.mode === 'existing'
        ? // allowAllOutbound false: CDK then writes the egress rules below instead of assuming the group allows everything.
          SecurityGroup.fromSecurityGroupId(this, 'ClusterGroup', kafka.securityGroupId, {
            mutable: kafka.addSecurityGroupRules,
            allowAllOutbound: false,
          })
        : new SecurityGroup(this, 'ClusterGroup', {
            vpc: this.vpc,
            description: 'MSK brokers and the Lambda event source pollers',
            allowAllOutbound: false,
          });
    const cluster = this.clusterSecurityGroup;
    const brokerPort = Port.tcp(MSK_IAM_PORT);
    if (manageClusterRules) {
      cluster.addIngressRule(this.functionSecurityGroup, brokerPort, 'Kafka over IAM/TLS from the functions (producing)');
      cluster.addIngressRule(cluster, brokerPort, 'Kafka over IAM/TLS from the event source pollers, which Lambda runs in this group');
      cluster.addEgressRule(cluster, brokerPort, 'The event source pollers to the brokers');
    }

    const endpointGroups: ISecurityGroup[] = [];
    const api = network.awsApiAccess;
    if (api.kind === 'endpoints' && network.mode === 'new') {
      const endpointGroup = new SecurityGroup(this, 'Endpoints', {
        vpc: this.vpc,
        description: 'Interface endpoints, reached by the functions and the pollers',
        allowAllOutbound: false,
      });
      endpointGroups.push(endpointGroup);
      for (const [name, service] of [
        ['Sts', InterfaceVpcEndpointAwsService.STS],
        ['Lambda', InterfaceVpcEndpointAwsService.LAMBDA],
        ['Msk', InterfaceVpcEndpointAwsService.KAFKA],
        ...(props.secretsManagerEndpoint ? [['SecretsManager', InterfaceVpcEndpointAwsService.SECRETS_MANAGER] as const] : []),
      ] as const) {
        this.vpc.addInterfaceEndpoint(name, {
          service,
          privateDnsEnabled: true,
          subnets: this.privateSubnets,
          securityGroups: [endpointGroup],
          open: false,
        });
      }
    } else if (api.kind === 'existing-endpoints') {
      api.endpointSecurityGroupIds.forEach((groupId, index) => {
        endpointGroups.push(SecurityGroup.fromSecurityGroupId(this, `EndpointGroup${index}`, groupId, { mutable: true }));
      });
    }
    for (const endpointGroup of endpointGroups) {
      endpointGroup.addIngressRule(
        this.functionSecurityGroup,
        Port.tcp(HTTPS_PORT),
        'AWS APIs (STS, MSK, Secrets Manager) from the functions',
      );
      if (manageClusterRules) {
        endpointGroup.addIngressRule(cluster, Port.tcp(HTTPS_PORT), 'STS and Lambda from the event source pollers');
        cluster.addEgressRule(endpointGroup, Port.tcp(HTTPS_PORT), 'The event source pollers to STS and Lambda');
      }
    }
    if (api.kind === 'nat' && manageClusterRules) {
      cluster.addEgressRule(Peer.anyIpv4(), Port.tcp(HTTPS_PORT), 'The event source pollers to STS and Lambda through the NAT gateway');
    }
    this.endpointSecurityGroups = endpointGroups;
    this.cdcConnectorSecurityGroups = this.cdcConnectorGroups(props.cdcSources ?? {}, manageClusterRules);
  }

  /**
   * A group per CDC source's connector, which may leave only to the brokers (9098) and to its database's port.
   * The brokers admit it when this app manages their rules, the database's group when the source says so.
   * No 443: the workers call no AWS API from the VPC (CloudFormation resolves the login; MSK Connect ships logs).
   */
  private cdcConnectorGroups(sources: Readonly<Record<string, CdcSourceConfig>>, manageClusterRules: boolean): Map<string, ISecurityGroup> {
    const groups = new Map<string, ISecurityGroup>();
    for (const [name, database] of Object.entries(sources)) {
      const connector = new SecurityGroup(this, `CdcConnector-${name}`, {
        vpc: this.vpc,
        description: `MSK Connect workers of CDC source ${name}`,
        allowAllOutbound: false,
      });
      const databaseGroup = SecurityGroup.fromSecurityGroupId(this, `CdcDatabase-${name}`, database.securityGroupId, {
        mutable: database.addSecurityGroupRules,
        allowAllOutbound: false,
      });
      const databasePort = Port.tcp(database.port);
      connector.addEgressRule(this.clusterSecurityGroup, Port.tcp(MSK_IAM_PORT), 'Kafka over IAM/TLS to the brokers');
      connector.addEgressRule(databaseGroup, databasePort, `PostgreSQL replication from database of CDC source ${name}`);
      if (manageClusterRules) {
        this.clusterSecurityGroup.addIngressRule(connector, Port.tcp(MSK_IAM_PORT), `Kafka over IAM/TLS from CDC connector ${name}`);
      }
      if (database.addSecurityGroupRules) databaseGroup.addIngressRule(connector, databasePort, `PostgreSQL from CDC connector ${name}`);
      groups.set(name, connector);
    }
    return groups;
  }
}
