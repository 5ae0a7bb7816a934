export { decodeKey, headerText, recordsOf, toSourceRecord } from './decode';
export { InvalidRecordError } from './errors';
