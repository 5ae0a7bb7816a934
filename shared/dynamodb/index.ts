export {
  isConditionFailure,
  MeteredDocumentClient,
  type DocumentCommand,
  type DocumentOutput,
  type DynamoDbUsage,
} from './metered-document-client';
