import { ConditionalCheckFailedException, type ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchWriteCommand,
  type DeleteCommand,
  GetCommand,
  type PutCommand,
  QueryCommand,
  type UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';

/** DynamoDB requests and capacity a client used; benchmarks report them per input record. */
export interface DynamoDbUsage {
  requests: number;
  readRequests: number;
  writeRequests: number;
  readCapacityUnits: number;
  writeCapacityUnits: number;
}

export type DocumentCommand = GetCommand | PutCommand | UpdateCommand | DeleteCommand | QueryCommand | BatchGetCommand | BatchWriteCommand;

/** The parts of the document client's outputs the platform's stores read. */
export interface DocumentOutput {
  readonly ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[];
  readonly Item?: Record<string, unknown>;
  readonly Attributes?: Record<string, unknown>;
  readonly Items?: Record<string, unknown>[];
  readonly LastEvaluatedKey?: Record<string, unknown>;
  readonly Responses?: Record<string, Record<string, unknown>[]>;
  readonly UnprocessedKeys?: Record<string, { Keys?: Record<string, unknown>[] }>;
  readonly UnprocessedItems?: Record<
    string,
    ReadonlyArray<{ PutRequest?: { Item?: Record<string, unknown> }; DeleteRequest?: { Key?: Record<string, unknown> } }>
  >;
}

/** A document client that counts what every command costs. Commands should ask for ReturnConsumedCapacity. */
export class MeteredDocumentClient {
  readonly usage: DynamoDbUsage = { requests: 0, readRequests: 0, writeRequests: 0, readCapacityUnits: 0, writeCapacityUnits: 0 };

  constructor(private readonly documents: DynamoDBDocumentClient) {}

  async send(command: DocumentCommand): Promise<DocumentOutput> {
    this.usage.requests += 1;
    const isRead = command instanceof GetCommand || command instanceof QueryCommand || command instanceof BatchGetCommand;
    if (isRead) this.usage.readRequests += 1;
    else this.usage.writeRequests += 1;
    try {
      const output = (await this.documents.send(command as never)) as DocumentOutput;
      const consumed = output.ConsumedCapacity;
      const units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce(
        (sum, entry) => sum + (entry.CapacityUnits ?? 0),
        0,
      );
      if (isRead) this.usage.readCapacityUnits += units;
      else this.usage.writeCapacityUnits += units;
      return output;
    } catch (error) {
      // A failed condition still costs a write.
      if (error instanceof ConditionalCheckFailedException) this.usage.writeCapacityUnits += 1;
      throw error;
    }
  }
}

/** A put or update whose condition failed is an answer, not an error. */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException;
}
