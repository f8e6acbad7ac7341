// Small helpers for plain JSON values: type tests, deep equality, deep copy.
import { copyJson, isObject } from "@skiff/api";

export { isObject };
export type JsonObject = Record<string, unknown>;

/** JSON equality: objects compare by keys regardless of order, arrays by position. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Deep copy, so that results never share structure with the caller's inputs. */
export function clone<T>(v: T): T {
  return copyJson(v);
}

/**
 * Reads and writes own properties only. Keys come from request bodies, and a key such as
 * "__proto__" must name a plain field, never reach (or replace) an object's prototype.
 */
export function own(obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function put(obj: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
