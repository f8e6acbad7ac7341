// Type guards for JSON read off the wire.

/** A JSON object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A deep copy of a JSON value: API objects as decoded or built here. Several times faster than
 * `structuredClone` for them (a pod: ~2 µs against ~17). A key such as "__proto__" stays a
 * plain own field; anything that is not a plain object or array (a Buffer, a Date) goes to
 * `structuredClone`.
 */
export function copyJson<T>(v: T): T {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) return v.map(copyJson) as T;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return structuredClone(v);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x = copyJson((v as Record<string, unknown>)[k]);
    if (k === "__proto__")
      Object.defineProperty(out, k, {
        value: x,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else out[k] = x;
  }
  return out as T;
}
