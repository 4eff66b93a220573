// Subscription patterns (`topic_pattern`). A pattern comes from a client and is matched against every
// topic name on the event loop, so a backtracking regex engine would let one request freeze the server
// ((a+)+b against a long run of a's takes seconds). Patterns are compiled for V8's linear-time engine
// instead: matching costs O(pattern x name) whatever the pattern, and what that engine cannot run
// (backreferences, lookarounds, huge counted repeats) is refused up front.
import { setFlagsFromString } from 'node:v8';
import { FloeError } from '../errors.ts';

// The `l` flag exists only behind this flag; it changes nothing for regexes compiled without `l`.
setFlagsFromString('--enable-experimental-regexp-engine');

/** Longer patterns are refused: compile time and the engine's memory grow with the pattern. */
export const MAX_PATTERN_LENGTH = 1_000;

const compiled = new Map<string, RegExp>();
const CACHE_LIMIT = 1_000;

/**
 * The matcher of a subscription pattern, with Kafka's semantics: the pattern must match the whole topic
 * name. Throws 400 (40002) with the reason when the pattern is too long, is not a regular expression, or
 * cannot be run in linear time.
 */
export function compileTopicPattern(pattern: string): RegExp {
  const hit = compiled.get(pattern);
  if (hit) return hit;
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new FloeError('BAD_REQUEST', `topic_pattern is ${pattern.length} characters long; at most ${MAX_PATTERN_LENGTH} are allowed`);
  }
  let re: RegExp;
  try {
    // Compiled alone first: a pattern such as `a)|(b` is refused, rather than changing the meaning of
    // the anchored wrapper below into "starts with a, or ends with b".
    new RegExp(pattern, 'l');
    re = new RegExp(`^(?:${pattern})$`, 'l');
  } catch (e) {
    const why = (e as Error).message.replace(/^Invalid regular expression: \/.*\/l: /s, '');
    throw new FloeError('BAD_REQUEST', `topic_pattern is not a usable regular expression: ${why}. Patterns run on a linear-time engine: backreferences and lookarounds are not supported`);
  }
  if (compiled.size >= CACHE_LIMIT) compiled.clear();
  compiled.set(pattern, re);
  return re;
}

/**
 * The topics of `names` that a stored pattern matches. A stored pattern that no longer compiles (one
 * accepted before patterns were checked) matches nothing rather than failing the whole group.
 */
export function topicsMatching(pattern: string, names: string[]): string[] {
  let re: RegExp;
  try {
    re = compileTopicPattern(pattern);
  } catch {
    return [];
  }
  return names.filter((t) => re.test(t));
}
