// Table output (Accept: application/json;as=Table;g=meta.k8s.io;v=v1): the columns and cells
// kubectl prints for each kind, computed on the server as Kubernetes 1.31 does.

// The printers live in tables/: one file per group of kinds, and cells.ts for what they share.

import type { ResourceInfo } from "@skiff/api";
import { humanDuration, readJsonPath } from "@skiff/api";

import type { Cell, Printer, TableColumnDefinition, TableRow } from "./tables/cells.js";
import { NAME, col, name, rec, text } from "./tables/cells.js";
import { clusterPrinters } from "./tables/cluster.js";
import { corePrinters } from "./tables/core.js";
import { podPrinters } from "./tables/pods.js";
import { workloadPrinters } from "./tables/workloads.js";

export type { Cell, TableColumnDefinition, TableRow } from "./tables/cells.js";

export interface Table {
  kind: "Table";
  apiVersion: "meta.k8s.io/v1";
  metadata: {
    resourceVersion?: string;
    continue?: string;
    remainingItemCount?: number;
  };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

export interface TableOptions {
  /** What rows[].object carries: the metadata only (default), the whole object, or nothing. */
  includeObject?: "None" | "Object" | "Metadata";
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
  /** Leave columnDefinitions empty, as watch events after the first may. */
  noHeaders?: boolean;
  /** The clock AGE columns are measured against. */
  now?: Date;
}

// Kinds without a printer get Kubernetes' default table: name and creation time.
const fallback: Printer = {
  columns: [
    NAME,
    col(
      "Created At",
      "CreationTimestamp is a timestamp representing the server time when this object was created.",
      {
        type: "date",
      },
    ),
  ],
  row: (o) => ({
    cells: [name(o), text(rec(o["metadata"])["creationTimestamp"])],
  }),
};

const PRINTERS: Record<string, Printer> = {
  ...podPrinters,
  ...corePrinters,
  ...workloadPrinters,
  ...clusterPrinters,
};

/**
 * A custom resource's table: Name, then the CRD's additionalPrinterColumns (Age when it
 * has none), cells typed as the column says; "date" cells show the age, as Kubernetes'.
 */
function customPrinter(info: ResourceInfo): Printer {
  const defined = info.custom?.printerColumns ?? [];
  const columns = defined.length
    ? defined
    : [{ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "" }];
  return {
    columns: [
      NAME,
      ...columns.map((c) => ({
        name: c.name,
        type: c.type as TableColumnDefinition["type"],
        format: c.format ?? "",
        description: c.description ?? "",
        priority: c.priority ?? 0,
      })),
    ],
    row: (o, now) => ({
      cells: [name(o), ...columns.map((c) => customCell(c.type, readJsonPath(o, c.jsonPath), now))],
    }),
  };
}

function customCell(type: string, v: unknown, now: number): Cell {
  if (v === undefined || v === null) return null;
  switch (type) {
    case "integer":
      return typeof v === "number" ? Math.trunc(v) : null;
    case "number":
      return typeof v === "number" ? v : null;
    case "boolean":
      return typeof v === "boolean" ? v : null;
    case "date": {
      if (typeof v !== "string") return null;
      const t = Date.parse(v);
      return Number.isNaN(t) ? "<invalid>" : humanDuration(now - t);
    }
    default:
      return typeof v === "string" ? v : JSON.stringify(v);
  }
}

function printerFor(info: ResourceInfo): Printer {
  if (info.custom) return customPrinter(info);
  return PRINTERS[`${info.group}/${info.resource}`] ?? fallback;
}

/** The column definitions of a kind's table, wide (priority 1) columns included. */
export function tableColumns(info: ResourceInfo): TableColumnDefinition[] {
  return printerFor(info).columns.map((c) => ({ ...c }));
}

/**
 * Builds a meta.k8s.io/v1 Table for objects of one kind. Rows always carry the wide columns;
 * kubectl hides priority-1 columns unless asked for -o wide.
 */
export function toTable(info: ResourceInfo, objects: object[], opts: TableOptions = {}): Table {
  const printer = printerFor(info);
  const now = (opts.now ?? new Date()).getTime();
  const include = opts.includeObject ?? "Metadata";
  const metadata: Table["metadata"] = {};
  if (opts.resourceVersion !== undefined) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue) metadata.continue = opts.continue;
  if (opts.remainingItemCount !== undefined) metadata.remainingItemCount = opts.remainingItemCount;
  const rows = objects.map((o): TableRow => {
    const obj = rec(o);
    const row: TableRow = printer.row(obj, now);
    if (include === "Object") row.object = o;
    else if (include === "Metadata") {
      row.object = {
        kind: "PartialObjectMetadata",
        apiVersion: "meta.k8s.io/v1",
        metadata: rec(obj["metadata"]),
      };
    }
    return row;
  });
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata,
    columnDefinitions: opts.noHeaders ? [] : tableColumns(info),
    rows,
  };
}
