export { decodeKey, headerText, recordsOf, toSourceRecord, valueHeads } from './decode';
export { InvalidRecordError } from './errors';
