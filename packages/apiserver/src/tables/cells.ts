// The cells every printer shares: the Table row and column types, readers for unknown JSON,
// ages, label and selector formatting, and the columns most kinds print (Name, Age).

import {
  humanDuration,
  isObject,
  labelSelectorToRequirements,
  requirementsToString,
} from "@skiff/api";

export interface TableColumnDefinition {
  name: string;
  type: "string" | "integer" | "date" | "number" | "boolean";
  format: string;
  description: string;
  priority: number;
}

export type Cell = string | number | boolean | null;

export interface TableRow {
  cells: Cell[];
  conditions?: {
    type: string;
    status: string;
    reason: string;
    message: string;
  }[];
  object?: object;
}

// ---- reading unknown JSON --------------------------------------------------------------

export type J = Record<string, unknown>;

export function rec(v: unknown): J {
  return isObject(v) ? v : {};
}
export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
export function text(v: unknown): string {
  return typeof v === "string" ? v : "";
}
export function int(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? Math.trunc(v) : 0;
}
export function size(v: unknown): number {
  return Object.keys(rec(v)).length;
}

// ---- durations ---------------------------------------------------------------------------

export function parseTime(v: unknown): number | undefined {
  const t = typeof v === "string" && v !== "" ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

/** The age of a timestamp, "<unknown>" when it is unset (translateTimestampSince). */
export function since(ts: unknown, now: number): string {
  const t = parseTime(ts);
  return t === undefined ? "<unknown>" : humanDuration(now - t);
}

// ---- shared formatting -------------------------------------------------------------------

/** labels.FormatLabels: sorted `k=v` pairs, "<none>" when empty. */
export function formatLabels(labels: unknown): string {
  const entries = Object.entries(rec(labels))
    .map(([k, v]) => `${k}=${text(v)}`)
    .sort();
  return entries.length ? entries.join(",") : "<none>";
}

/** A LabelSelector as a selector string; "" when it selects everything, "<invalid>" when broken. */
export function selectorString(sel: unknown): string {
  if (sel === undefined || sel === null) return "";
  try {
    return requirementsToString(labelSelectorToRequirements(rec(sel)));
  } catch {
    return "<invalid>";
  }
}

/** metav1.FormatLabelSelector: like selectorString but "<none>" for empty, "<error>" when broken. */
export function formatLabelSelector(sel: unknown): string {
  const s = selectorString(sel);
  return s === "<invalid>" ? "<error>" : s === "" ? "<none>" : s;
}

export function containerCells(podSpec: unknown): [string, string] {
  const containers = list(rec(podSpec)["containers"]).map(rec);
  return [
    containers.map((c) => text(c["name"])).join(","),
    containers.map((c) => text(c["image"])).join(","),
  ];
}

export function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function listWithMore(items: string[], total: number, max: number, empty: string): string {
  if (total > max) return `${items.slice(0, max).join(",")} + ${total - max} more...`;
  return items.length ? items.join(",") : empty;
}

// ---- per-kind printers -------------------------------------------------------------------

export type Printer = {
  columns: TableColumnDefinition[];
  row: (obj: J, now: number) => Omit<TableRow, "object">;
};

export function col(
  name: string,
  description: string,
  opts: {
    type?: TableColumnDefinition["type"];
    format?: string;
    priority?: number;
  } = {},
): TableColumnDefinition {
  return {
    name,
    type: opts.type ?? "string",
    format: opts.format ?? "",
    description,
    priority: opts.priority ?? 0,
  };
}

export const NAME = col("Name", "Name must be unique within a namespace.", {
  format: "name",
});
export const AGE = col(
  "Age",
  "CreationTimestamp is a timestamp representing the server time when this object was created.",
);
export const CONTAINERS = col("Containers", "Names of each container in the template.", {
  priority: 1,
});
export const IMAGES = col("Images", "Images referenced by each container in the template.", {
  priority: 1,
});
export const wideSelector = (description: string) => col("Selector", description, { priority: 1 });

export const name = (o: J) => text(rec(o["metadata"])["name"]);
export const age = (o: J, now: number) => since(rec(o["metadata"])["creationTimestamp"], now);
