// Bytes as the console shows them (text, pretty JSON or hex), the API's base64 both ways, figures for
// people, and the shown messages as JSON lines or CSV. Pure: no DOM beyond TextEncoder/TextDecoder.

export type Shown = 'text' | 'json' | 'hex';

const utf8 = new TextDecoder('utf-8');
const encoder = new TextEncoder();

export function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  // In slices: String.fromCharCode takes its arguments on the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export const textToBase64 = (s: string) => toBase64(encoder.encode(s));
export const utf8Bytes = (s: string) => encoder.encode(s);
export const bytesToText = (b: Uint8Array) => utf8.decode(b);

export function hex(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    lines.push(Array.from(bytes.subarray(i, i + 16), (b) => b.toString(16).padStart(2, '0')).join(' '));
  }
  return lines.join('\n');
}

/** A key, value or header value (base64, or null) as shown: null stays null. */
export function show(b64: string | null, as: Shown): string | null {
  if (b64 === null) return null;
  const bytes = fromBase64(b64);
  if (as === 'hex') return hex(bytes);
  const text = bytesToText(bytes);
  if (as === 'json') {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text;
    }
  }
  return text;
}

/** Whether the bytes are JSON (what "show as JSON" can pretty-print). */
export function parseJson(b64: string | null): { ok: true; value: unknown } | { ok: false } {
  if (b64 === null) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(bytesToText(fromBase64(b64))) };
  } catch {
    return { ok: false };
  }
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${UNITS[u]}`;
}

export const formatCount = (n: number) => n.toLocaleString('en-US');

export function formatRate(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  return `${n < 10 ? Math.round(n * 10) / 10 : Math.round(n).toLocaleString('en-US')}/s`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = s / 60;
  if (m < 60) return `${Math.floor(m)} min ${Math.round(s % 60)} s`;
  const h = m / 60;
  if (h < 48) return `${Math.floor(h)} h ${Math.round(m % 60)} min`;
  return `${Math.floor(h / 24)} d ${Math.round(h % 24)} h`;
}

export const formatTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');

/** A message as read: key, value and header values in base64 (the API's form), null where Kafka has null. */
export interface RawMessage {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null }>;
}

/** One JSON object a line, key, value and header values as shown; with JSON shown, those that parse are embedded as JSON. */
export function toJsonLines(messages: RawMessage[], as: Shown): string {
  const field = (b64: string | null) => {
    if (as === 'json') {
      const j = parseJson(b64);
      if (j.ok) return j.value;
    }
    return show(b64, as);
  };
  return messages
    .map((m) => JSON.stringify({ topic: m.topic, partition: m.partition, offset: m.offset, timestamp: m.timestamp, key: field(m.key), value: field(m.value), headers: m.headers.map((h) => ({ key: h.key, value: show(h.value, as === 'json' ? 'text' : as) })) }))
    .map((line) => `${line}\n`)
    .join('');
}

/** RFC 4180: every field quoted, quotes doubled, CRLF between records; headers as one JSON column. */
export function toCsv(messages: RawMessage[], as: Shown): string {
  const q = (v: string | number | null) => (v === null ? '' : `"${String(v).replace(/"/g, '""')}"`);
  const rows = [['topic', 'partition', 'offset', 'timestamp', 'key', 'value', 'headers'].map(q).join(',')];
  for (const m of messages) {
    const headers = Object.fromEntries(m.headers.map((h) => [h.key, show(h.value, as === 'json' ? 'text' : as)]));
    rows.push([q(m.topic), q(m.partition), q(m.offset), q(new Date(m.timestamp).toISOString()), q(show(m.key, as)), q(show(m.value, as)), q(JSON.stringify(headers))].join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}

/** `name: value` or `name=value`, one a line, into headers; a line without a separator is an error. */
export function parseHeaderLines(text: string): Array<{ key: string; value: string }> {
  const out: Array<{ key: string; value: string }> = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const at = line.search(/[:=]/);
    if (at <= 0) throw new Error(`header line ${i + 1} must be name: value`);
    out.push({ key: line.slice(0, at).trim(), value: line.slice(at + 1).trim() });
  });
  return out;
}
