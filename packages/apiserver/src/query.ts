// Query parameters read as Kubernetes reads them (its conversion of url.Values into
// ListOptions and friends): Go's strconv.ParseBool and ParseInt; parameters a handler does
// not read are ignored.
import { BadRequestError } from "./errors.js";

export type Query = URLSearchParams;

/** An integer query parameter, read as Go's strconv.ParseInt (base 10, optional sign). */
export function intParam(q: Query, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new BadRequestError(
      `invalid value for query parameter ${name}: "${v}" is not an integer`,
    );
  }
  return Number(v);
}

// Go's strconv.ParseBool, which Kubernetes' query parameter conversion follows; Python's
// client spells its booleans "True" and "False".
const TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** A boolean query parameter: absent is false, present with no value is true. */
export function boolParam(q: Query, name: string): boolean {
  const v = q.get(name);
  if (v === null) return false;
  if (v === "" || TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new BadRequestError(`invalid value for query parameter ${name}: "${v}" is not a boolean`);
}

/**
 * Whether a collection GET is a watch, for authorization and audit: what the handler will
 * read; a value that is no boolean (which the handler refuses) counts as a watch, as
 * Kubernetes' request info counts anything but false and 0.
 */
export function isWatch(q: Query): boolean {
  try {
    return boolParam(q, "watch");
  } catch {
    return true;
  }
}
