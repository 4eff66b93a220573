import { FloeError, PartitionNotFoundError } from '../errors.ts';
import { validateTopicName } from '../topics/names.ts';

/** A topic path parameter, validated before it goes anywhere near a key. */
export function topicParam(raw: string | undefined): string {
  return validateTopicName(decodeURIComponentSafe(raw ?? ''));
}

/** A partition path parameter: anything but a non-negative integer names no partition. */
export function partitionParam(topic: string, raw: string | undefined): number {
  if (raw === undefined || !/^\d{1,9}$/.test(raw)) throw new PartitionNotFoundError(topic, JSON.stringify(decodeURIComponentSafe(raw ?? '')));
  return Number(raw);
}

/** An integer query parameter in [min, max]; absent gives the default. */
export function intQuery(raw: string | undefined, name: string, opts: { min: number; max?: number; default?: number }): number | undefined {
  if (raw === undefined || raw === '') return opts.default;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) < opts.min || Number(raw) > max) {
    throw new FloeError('BAD_REQUEST', `query parameter '${name}' must be an integer between ${opts.min} and ${max}, got '${raw}'`);
  }
  return Number(raw);
}

export type Acks = 0 | 1 | 'all';

export function acksQuery(raw: string | undefined): Acks {
  if (raw === undefined || raw === 'all' || raw === '-1') return 'all';
  if (raw === '1') return 1;
  if (raw === '0') return 0;
  throw new FloeError('BAD_REQUEST', `query parameter 'acks' must be 0, 1, all or -1, got '${raw}'`);
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
