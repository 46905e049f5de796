/** Loaded on first use (../lazy-adapters.ts): the record key's Secrets Manager read. */
export { secretRecordKey } from '../imdsv2-record-key';
