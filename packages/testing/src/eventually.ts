/**
 * Runs `fn` until it stops throwing (an assertion, usually) and returns its result; after
 * `timeoutMs` the last error is thrown. For state that converges: controllers, watches, TTLs.
 */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
