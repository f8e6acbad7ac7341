// Kubernetes resource quantities ("500m", "128Mi", "1e3"): parsing to base units and
// printing in the canonical form Kubernetes uses.

/** Kubernetes' message for text that is not a quantity at all. */
export const QUANTITY_FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/** Kubernetes' message for a quantity whose suffix is unknown ("1mm", "1Kii"). */
export const QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix";

const SHAPE = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const NUMBER = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;
const EXPONENT = /^[eE][+-]?[0-9]+$/;

const SUFFIXES: Record<string, number> = {
  "": 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * The value of a quantity in base units: cores for CPU ("500m" → 0.5), bytes for memory
 * ("128Mi" → 134217728). Numbers (as JSON may carry them) are taken as they are.
 */
export function parseQuantity(s: string | number): number {
  if (typeof s === "number") {
    if (!Number.isFinite(s)) throw new Error(QUANTITY_FORMAT_ERROR);
    return s;
  }
  const match = SHAPE.exec(s);
  const digits = match?.[1];
  const suffix = match?.[2] ?? "";
  if (digits === undefined || !NUMBER.test(digits)) throw new Error(QUANTITY_FORMAT_ERROR);
  const mantissa = Number(digits);
  const multiplier = SUFFIXES[suffix];
  if (multiplier !== undefined) return scale(mantissa, suffix, multiplier);
  if (EXPONENT.test(suffix)) return Number(`${digits}e${suffix.slice(1)}`);
  throw new Error(QUANTITY_SUFFIX_ERROR);
}

// Multiplying by 1e-3 gives 0.30000000000000004 for "300m"; dividing by the inverse is exact
// for the decimal fractions people write.
function scale(mantissa: number, suffix: string, multiplier: number): number {
  if (multiplier >= 1) return mantissa * multiplier;
  const inverse = { n: 1e9, u: 1e6, m: 1e3 }[suffix as "n" | "u" | "m"];
  return mantissa / inverse;
}

export function isValidQuantity(s: unknown): boolean {
  if (typeof s !== "string" && typeof s !== "number") return false;
  try {
    parseQuantity(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * Prints a value the way Kubernetes canonicalises it: CPU in cores or millicores
 * (0.25 → "250m", 2 → "2"), memory with the largest exact binary suffix
 * (134217728 → "128Mi") and decimal suffixes below 1Ki (1000 → "1k").
 */
export function formatQuantity(value: number, kind: "cpu" | "memory"): string {
  if (!Number.isFinite(value)) throw new Error(`cannot format ${value} as a quantity`);
  if (kind === "cpu") return formatDecimal(value);
  // Memory is counted in whole bytes; Kubernetes rounds fractions up.
  const bytes = Math.ceil(value - 1e-9);
  if (Math.abs(bytes) < 1024) return formatDecimal(bytes);
  return formatBinary(bytes);
}

const DECIMAL: [string, number][] = [
  ["E", 18],
  ["P", 15],
  ["T", 12],
  ["G", 9],
  ["M", 6],
  ["k", 3],
  ["", 0],
  ["m", -3],
  ["u", -6],
  ["n", -9],
];

function formatDecimal(value: number): string {
  if (value === 0) return "0";
  // Work in integer nano-units so that float noise (0.1 + 0.2) does not leak into the text;
  // anything smaller than 1n rounds up, as in Kubernetes.
  const nanos = BigInt(Math.ceil(Math.round(value * 1e9 * 1e3) / 1e3));
  const sign = nanos < 0n ? "-" : "";
  const abs = nanos < 0n ? -nanos : nanos;
  for (const [suffix, exponent] of DECIMAL) {
    const unit = 10n ** BigInt(exponent + 9);
    if (abs % unit === 0n) return `${sign}${abs / unit}${suffix}`;
  }
  return `${sign}${abs}n`;
}

const BINARY = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

function formatBinary(bytes: number): string {
  let n = BigInt(bytes);
  let i = 0;
  while (i < BINARY.length - 1 && n !== 0n && n % 1024n === 0n) {
    n /= 1024n;
    i++;
  }
  return `${n}${BINARY[i]}`;
}
