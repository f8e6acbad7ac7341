// Field errors as Kubernetes words them (k8s.io/apimachinery/pkg/util/validation/field):
// the apiserver returns them as the causes of a 422 Invalid Status.

export type FieldErrorType =
  | "FieldValueRequired"
  | "FieldValueInvalid"
  | "FieldValueNotSupported"
  | "FieldValueDuplicate"
  | "FieldValueForbidden"
  | "FieldValueTooLong"
  | "FieldValueTooMany"
  | "FieldValueTypeInvalid"
  | "FieldValueNotFound";

export interface FieldError {
  type: FieldErrorType;
  /** The path of the field: `spec.containers[0].image`. */
  field: string;
  /** What Kubernetes calls the error body: `Invalid value: "Foo": ...`. */
  message: string;
}

/** Renders a bad value the way Go's %q / %v / %#v show it in Kubernetes messages. */
export function formatValue(v: unknown): string {
  if (v === undefined || v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "object" && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.every(([, x]) => typeof x === "string")) {
      const body = entries
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, x]) => `${JSON.stringify(k)}:${JSON.stringify(x)}`)
        .join(", ");
      return `map[string]string{${body}}`;
    }
  }
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) {
    return `[]string{${v.map((x) => JSON.stringify(x)).join(", ")}}`;
  }
  return JSON.stringify(v);
}

const withDetail = (s: string, detail?: string) => (detail ? `${s}: ${detail}` : s);

/** Collects field errors; one method per Kubernetes error type. */
export class FieldErrors {
  readonly list: FieldError[] = [];

  private add(type: FieldErrorType, field: string, message: string): void {
    this.list.push({ type, field, message });
  }

  required(field: string, detail?: string): void {
    this.add("FieldValueRequired", field, withDetail("Required value", detail));
  }
  invalid(field: string, value: unknown, detail?: string): void {
    this.add(
      "FieldValueInvalid",
      field,
      withDetail(`Invalid value: ${formatValue(value)}`, detail),
    );
  }
  /** Every message from a check such as isDNS1123Label becomes one Invalid error. */
  invalidEach(field: string, value: unknown, details: string[]): void {
    for (const d of details) this.invalid(field, value, d);
  }
  notSupported(field: string, value: unknown, supported: readonly string[]): void {
    const list = supported.map((s) => JSON.stringify(s)).join(", ");
    this.add(
      "FieldValueNotSupported",
      field,
      withDetail(`Unsupported value: ${formatValue(value)}`, list && `supported values: ${list}`),
    );
  }
  duplicate(field: string, value: unknown): void {
    this.add("FieldValueDuplicate", field, `Duplicate value: ${formatValue(value)}`);
  }
  forbidden(field: string, detail: string): void {
    this.add("FieldValueForbidden", field, withDetail("Forbidden", detail));
  }
  tooLong(field: string, maxBytes: number): void {
    this.add("FieldValueTooLong", field, `Too long: may not be more than ${maxBytes} bytes`);
  }
  tooMany(field: string, actual: number, max: number): void {
    this.add("FieldValueTooMany", field, `Too many: ${actual}: must have at most ${max} items`);
  }
  notFound(field: string, value: unknown): void {
    this.add("FieldValueNotFound", field, `Not found: ${formatValue(value)}`);
  }
  /** A JSON value of the wrong type, worded like the apiserver's schema validation. */
  typeInvalid(field: string, actual: string, expected: string): void {
    this.add(
      "FieldValueTypeInvalid",
      field,
      `Invalid value: "${actual}": ${field || "body"} in body must be of type ${expected}: "${actual}"`,
    );
  }
}
