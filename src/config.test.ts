import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('refuses an unknown FLOE_CRC32C at start-up, naming the variable', () => {
    expect(() => loadConfig({ FLOE_CRC32C: 'sse4' })).toThrow(ConfigError);
    expect(() => loadConfig({ FLOE_CRC32C: 'sse4' })).toThrow(/FLOE_CRC32C/);
    for (const ok of ['native', 'wasm', '']) expect(() => loadConfig({ FLOE_CRC32C: ok })).not.toThrow();
  });
});
