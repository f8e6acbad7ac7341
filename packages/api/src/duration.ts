// Go-style durations as Kubernetes flags take them ("1h0m0s", "30s", "1.5m", "250ms").

/** Milliseconds in a duration; a bare number means seconds. Throws on anything else. */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (text === "") throw new Error('invalid duration ""');
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000;
  let ms = 0;
  let rest = text;
  while (rest !== "") {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m) throw new Error(`invalid duration "${text}"`);
    ms += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return ms;
}

/** A duration flag of a program, in milliseconds; a bad value is an error naming the flag. */
export function durationFlag(flag: string, text: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new Error(`--${flag}: invalid duration "${text}" (examples: 500ms, 1s, 1m30s)`);
  }
}
