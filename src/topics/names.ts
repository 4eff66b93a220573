import { FloeError } from '../errors.ts';

/** Kafka's limit: longer names break the broker's file names; Floe keeps it so topics move freely. */
export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL = /^[a-zA-Z0-9._-]+$/;

/**
 * Validates a topic name with Kafka's rules. Names reach S3 keys and DynamoDB keys only after this,
 * so `../x`, empty names and other path tricks never get that far.
 */
export function validateTopicName(name: string): string {
  if (name.length === 0) throw new FloeError('INVALID_TOPIC_NAME', 'Topic name is illegal, it can\'t be empty');
  if (name === '.' || name === '..') throw new FloeError('INVALID_TOPIC_NAME', `Topic name cannot be "." or ".."`);
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    throw new FloeError('INVALID_TOPIC_NAME', `Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME_LENGTH} characters`);
  }
  if (!LEGAL.test(name)) {
    throw new FloeError(
      'INVALID_TOPIC_NAME',
      `Topic name '${printable(name)}' is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`,
    );
  }
  return name;
}

function printable(s: string): string {
  const cut = s.length > 64 ? `${s.slice(0, 64)}...` : s;
  return cut.replace(/[^\x20-\x7e]/g, '?');
}

/** A name of another resource (a table, a connector) under the topic name rules, its errors naming the kind. */
export function validateResourceName(kind: string, name: unknown): string {
  if (typeof name !== 'string') throw new FloeError('BAD_REQUEST', `${kind} name must be a string`);
  try {
    return validateTopicName(name);
  } catch (e) {
    throw new FloeError('BAD_REQUEST', `${kind} name: ${(e as Error).message.replace(/^Topic name/, `a ${kind} name`)}`);
  }
}
