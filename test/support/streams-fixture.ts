// A module target for streams tests: the local dispatcher imports it and calls `handler`, which forwards
// to the streams handler the running test put on globalThis (so the test chooses topology and client).
export async function handler(event: unknown): Promise<unknown> {
  const h = (globalThis as Record<string, unknown>).floeStreamsFixture as ((e: unknown) => Promise<unknown>) | undefined;
  if (!h) throw new Error('no streams handler registered by the test');
  return h(event);
}
