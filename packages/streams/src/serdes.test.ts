import { describe, expect, it } from 'vitest';
import { Serdes, Window, Windowed, WindowedSerdes } from './index.ts';

describe('serdes', () => {
  it('map null to null both ways', () => {
    for (const s of [Serdes.String(), Serdes.Long(), Serdes.Json(), Serdes.Bytes(), Serdes.Integer(), Serdes.Double()] as Array<ReturnType<typeof Serdes.Json>>) {
      expect(s.serialize('t', null)).toBeNull();
      expect(s.deserialize('t', null)).toBeNull();
    }
  });

  it('Long is 8-byte big-endian two’s complement, like Kafka', () => {
    expect([...Serdes.Long().serialize('t', 258)!]).toEqual([0, 0, 0, 0, 0, 0, 1, 2]);
    expect([...Serdes.Long().serialize('t', -1)!]).toEqual([255, 255, 255, 255, 255, 255, 255, 255]);
    expect(Serdes.Long().deserialize('t', Serdes.Long().serialize('t', -123456789012)!)).toBe(-123456789012);
    expect(() => Serdes.Long().deserialize('t', Uint8Array.of(1))).toThrow(/8 bytes/);
    expect([...Serdes.Integer().serialize('t', 258)!]).toEqual([0, 0, 1, 2]);
    expect(Serdes.Double().deserialize('t', Serdes.Double().serialize('t', 1.5)!)).toBe(1.5);
  });

  it('String and Json are UTF-8', () => {
    expect(Serdes.String().deserialize('t', Serdes.String().serialize('t', 'héllo'))).toBe('héllo');
    expect(Serdes.Json<{ a: number[] }>().deserialize('t', Serdes.Json<{ a: number[] }>().serialize('t', { a: [1] }))).toEqual({ a: [1] });
  });

  it('windowed serdes write Kafka’s layouts', () => {
    const time = WindowedSerdes.timeWindowedSerdeFrom(Serdes.String(), 100);
    const bytes = time.serialize('t', new Windowed('k', new Window(200, 300)))!;
    expect([...bytes]).toEqual([107, 0, 0, 0, 0, 0, 0, 0, 200]);
    expect(time.deserialize('t', bytes)).toEqual(new Windowed('k', new Window(200, 300)));
    const session = WindowedSerdes.sessionWindowedSerdeFrom(Serdes.String());
    const s = session.serialize('t', new Windowed('k', new Window(1, 2)))!;
    expect([...s]).toEqual([107, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(session.deserialize('t', s)).toEqual(new Windowed('k', new Window(1, 2)));
  });
});
