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
import type { NetworkConfig } from './config';

export interface NetworkStackProps extends StackProps {
  readonly network: NetworkConfig;
  /** The functions read a secret (the schema registry's credentials): a new VPC gets a Secrets Manager endpoint. */
  readonly secretsManagerEndpoint?: boolean;
}

/**
 * The VPC the cluster and consumers live in: private subnets in at least two
 * zones and no NAT. Consumers reach AWS APIs through VPC endpoints: STS (MSK
 * IAM auth signs with the role's credentials), Lambda, MSK's control plane
 * (bootstrap brokers) and a DynamoDB gateway. Dead letters go to Kafka topics
 * in the same cluster, so the on-failure path needs no endpoint. Or an
 * existing VPC, named by id and subnets (no lookup, so synth needs no credentials).
 */
export class NetworkStack extends Stack {
  readonly vpc: IVpc;
  readonly privateSubnets: SubnetSelection;
  /** The platform's functions run in this group; the brokers and the VPC endpoints let it in. */
  readonly functionSecurityGroup: ISecurityGroup;

  override get availabilityZones(): string[] {
    return this.namedZones ? [...this.namedZones] : super.availabilityZones;
  }

  /** Zones named in the configuration: the stack answers with them instead of looking them up (offline synth). */
  private namedZones: readonly string[] | undefined;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const { network } = props;
    this.namedZones = network.availabilityZones;
    if (this.namedZones) {
      Validations.of(this).acknowledge({
        id: 'CloudFormation-Validate::W3010',
        reason: 'Zones are named in cdk.json on purpose: synth then needs no AWS lookup (offline, no credentials), and MSK needs a known, fixed zone count.',
      });
    }
    if (network.mode === 'existing') {
      this.vpc = Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: network.vpcId,
        availabilityZones: [...network.availabilityZones],
        privateSubnetIds: [...network.privateSubnetIds],
      });
      this.privateSubnets = { subnets: this.vpc.privateSubnets };
      this.functionSecurityGroup = new SecurityGroup(this, 'Functions', { vpc: this.vpc, description: 'Lambda functions of the pipeline', allowAllOutbound: true });
      return;
    }
    const vpc = new Vpc(this, 'Vpc', {
      ipAddresses: IpAddresses.cidr('10.40.0.0/16'),
      ...(network.availabilityZones ? { availabilityZones: [...network.availabilityZones] } : { maxAzs: network.zoneCount }),
      natGateways: 0,
      subnetConfiguration: [{ name: 'private', subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 20 }],
      flowLogs: {
        all: { destination: FlowLogDestination.toCloudWatchLogs(new LogGroup(this, 'FlowLogs', { retention: RetentionDays.THREE_MONTHS })) },
      },
    });
    this.vpc = vpc;
    this.privateSubnets = { subnetType: SubnetType.PRIVATE_ISOLATED };
    this.functionSecurityGroup = new SecurityGroup(this, 'Functions', { vpc, description: 'Lambda functions of the pipeline', allowAllOutbound: true });
    const endpointGroup = new SecurityGroup(this, 'Endpoints', { vpc, description: 'Interface endpoints, reached by the functions only', allowAllOutbound: false });
    endpointGroup.addIngressRule(Peer.securityGroupId(this.functionSecurityGroup.securityGroupId), Port.tcp(443), 'HTTPS from the functions');
    vpc.addGatewayEndpoint('DynamoDb', { service: GatewayVpcEndpointAwsService.DYNAMODB });
    for (const [name, service] of [
      ['Sts', InterfaceVpcEndpointAwsService.STS],
      ['Lambda', InterfaceVpcEndpointAwsService.LAMBDA],
      ['Msk', InterfaceVpcEndpointAwsService.KAFKA],
      ...(props.secretsManagerEndpoint ? [['SecretsManager', InterfaceVpcEndpointAwsService.SECRETS_MANAGER] as const] : []),
    ] as const) {
      vpc.addInterfaceEndpoint(name, { service, privateDnsEnabled: true, subnets: this.privateSubnets, securityGroups: [endpointGroup], open: false });
    }
  }
}
