// Output formats as kubectl prints them: server-side Tables through a Go-tabwriter-like
// aligner (min width 6, 3 spaces of padding), YAML and JSON with sorted keys, -o name, and
// a small JSONPath subset.
import { isObject } from "@skiff/api";
import { stringify } from "yaml";
import { CommandError } from "./errors.js";

// ---- tables --------------------------------------------------------------------------------

const minWidth = 6;
const padding = 3;

/**
 * Aligns rows of cells like Go's text/tabwriter as kubectl configures it: each column but the
 * last is padded to max(6, widest cell + 3). `remembered` keeps widths across calls (-w).
 */
export function alignRows(rows: string[][], remembered: number[] = []): string {
  const widths = remembered;
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i === row.length - 1) return;
      widths[i] = Math.max(widths[i] ?? minWidth, [...cell].length + padding);
    });
  }
  return rows
    .map(
      (row) =>
        row
          .map((cell, i) =>
            i === row.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - [...cell].length),
          )
          .join("") + "\n",
    )
    .join("");
}

export interface ColumnDefinition {
  name: string;
  format?: string;
  priority?: number;
}

export interface TableRow {
  cells: unknown[];
  object?: unknown;
}

export interface Table {
  columnDefinitions: ColumnDefinition[];
  rows: TableRow[];
  metadata?: { resourceVersion?: string };
}

/** Checks that a decoded answer is a meta.k8s.io Table. */
export function asTable(v: unknown): Table | undefined {
  if (!isObject(v) || v.kind !== "Table") return undefined;
  const columns = Array.isArray(v.columnDefinitions) ? v.columnDefinitions.filter(isObject) : [];
  const rows = Array.isArray(v.rows) ? v.rows.filter(isObject) : [];
  return {
    columnDefinitions: columns.map((c) => ({
      name: String(c.name ?? ""),
      format: typeof c.format === "string" ? c.format : "",
      priority: typeof c.priority === "number" ? c.priority : 0,
    })),
    rows: rows.map((r) => ({ cells: Array.isArray(r.cells) ? r.cells : [], object: r.object })),
    metadata: isObject(v.metadata)
      ? { resourceVersion: String(v.metadata.resourceVersion ?? "") }
      : {},
  };
}

export interface TableOptions {
  wide?: boolean;
  /** -A: a NAMESPACE column first. */
  withNamespace?: boolean;
  showLabels?: boolean;
  /** Several kinds printed together: names become `deployment.apps/web`. */
  kindPrefix?: string;
  noHeaders?: boolean;
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return "<none>";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

/** kubectl's labels.FormatLabels: sorted `k=v` pairs, or <none>. */
export function formatLabels(labels: unknown): string {
  if (!isObject(labels) || Object.keys(labels).length === 0) return "<none>";
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${String(labels[k])}`)
    .join(",");
}

function rowMeta(row: TableRow): Record<string, unknown> {
  return isObject(row.object) && isObject(row.object.metadata) ? row.object.metadata : {};
}

/** The header and rows of a Table as cell text, ready for `alignRows`. */
export function tableCells(table: Table, opts: TableOptions): string[][] {
  const shown = table.columnDefinitions
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => opts.wide || !c.priority);
  const nameIndex = Math.max(
    0,
    table.columnDefinitions.findIndex((c) => c.format === "name"),
  );
  const out: string[][] = [];
  if (!opts.noHeaders) {
    const header = shown.map(({ c }) => c.name.toUpperCase());
    if (opts.withNamespace) header.unshift("NAMESPACE");
    if (opts.showLabels) header.push("LABELS");
    out.push(header);
  }
  for (const row of table.rows) {
    const meta = rowMeta(row);
    const cells = shown.map(({ i }) => {
      const text = cellText(row.cells[i]);
      return i === nameIndex && opts.kindPrefix ? `${opts.kindPrefix}/${text}` : text;
    });
    if (opts.withNamespace) cells.unshift(typeof meta.namespace === "string" ? meta.namespace : "");
    if (opts.showLabels) cells.push(formatLabels(meta.labels));
    out.push(cells);
  }
  return out;
}

// ---- yaml / json ---------------------------------------------------------------------------

/** A deep copy with every object's keys sorted, as kubectl's unstructured output has them. */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]);
  return out;
}

export function toJson(v: unknown): string {
  return JSON.stringify(sortKeys(v), null, 4) + "\n";
}

export function toYaml(v: unknown): string {
  // YAML 1.1 rules quote strings Go's YAML would read as timestamps or booleans ("yes").
  return stringify(sortKeys(v), {
    indentSeq: false,
    lineWidth: 0,
    minContentWidth: 0,
    version: "1.1",
  });
}

/** What `-o yaml|json` prints for several objects. */
export function listOf(items: unknown[]): Record<string, unknown> {
  return { apiVersion: "v1", items, kind: "List", metadata: { resourceVersion: "" } };
}

// ---- jsonpath ------------------------------------------------------------------------------

type Node = { text: string } | { expr: string } | { range: string; body: Node[] };

function parseTemplate(template: string): Node[] {
  const root: Node[] = [];
  const stack: Node[][] = [root];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf("{", i);
    const top = stack[stack.length - 1]!;
    if (open < 0) {
      top.push({ text: template.slice(i) });
      break;
    }
    if (open > i) top.push({ text: template.slice(i, open) });
    const close = template.indexOf("}", open);
    if (close < 0)
      throw new CommandError(`error: error parsing jsonpath ${template}, unclosed action`);
    const action = template.slice(open + 1, close).trim();
    i = close + 1;
    if (/^".*"$/s.test(action) || /^'.*'$/s.test(action)) {
      top.push({ text: unescape(action.slice(1, -1)) });
    } else if (action.startsWith("range ")) {
      const node = { range: action.slice(6).trim(), body: [] as Node[] };
      top.push(node);
      stack.push(node.body);
    } else if (action === "end") {
      if (stack.length === 1)
        throw new CommandError(`error: error parsing jsonpath ${template}, not in range`);
      stack.pop();
    } else {
      top.push({ expr: action });
    }
  }
  return root;
}

function unescape(s: string): string {
  return s.replace(/\\n/g, "\n").replace(/\\t/g, "\t").replace(/\\"/g, '"');
}

/**
 * Evaluates `.a.b[*].c`, `[0]`, `['k']`, `.a\\.b` (an escaped dot) and simple filters
 * `[?(@.type=="Ready")]` against `data`; every match, in order.
 */
export function evalPath(expr: string, data: unknown): unknown[] {
  let values: unknown[] = [data];
  const re =
    /\.((?:\\\.|[^.[\]\\])+)|\[\*\]|\[(-?\d+)\]|\['([^']*)'\]|\["([^"]*)"\]|\[\?\(@((?:\.[\w-]+)+)\s*(?:(==|!=)\s*(?:"([^"]*)"|'([^']*)'|([^)\s]+)))?\)\]|\$|\./y;
  let m: RegExpExecArray | null;
  let pos = 0;
  const e = expr.trim();
  while (pos < e.length && ((re.lastIndex = pos), (m = re.exec(e)))) {
    pos = re.lastIndex;
    const tok = m[0];
    if (tok === "$" || tok === ".") continue;
    if (tok === "[*]") {
      values = values.flatMap((v) => (Array.isArray(v) ? v : isObject(v) ? Object.values(v) : []));
    } else if (m[2] !== undefined) {
      const n = Number(m[2]);
      values = values.flatMap((v) => (Array.isArray(v) && v.at(n) !== undefined ? [v.at(n)] : []));
    } else if (m[5] !== undefined) {
      const [field, op, want] = [m[5], m[6], m[7] ?? m[8] ?? m[9]];
      values = values.flatMap((v) =>
        (Array.isArray(v) ? v : []).filter((item) => {
          const got = evalPath(field, item);
          if (op === undefined) return got.length > 0;
          const equal = got.some((g) => valueText(g) === want);
          return op === "==" ? equal : !equal;
        }),
      );
    } else {
      const key = (m[1] ?? m[3] ?? m[4])?.replace(/\\\./g, ".");
      if (key === undefined) throw new CommandError(`error: unsupported jsonpath ${expr}`);
      values = values.flatMap((v) => (isObject(v) && key in v ? [v[key]] : []));
    }
  }
  if (pos < e.length) throw new CommandError(`error: unsupported jsonpath ${expr}`);
  return values;
}

function valueText(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

function render(nodes: Node[], data: unknown): string {
  let out = "";
  for (const n of nodes) {
    if ("text" in n) out += n.text;
    else if ("expr" in n) out += evalPath(n.expr, data).map(valueText).join(" ");
    else for (const item of evalPath(n.range, data)) out += render(n.body, item);
  }
  return out;
}

/** kubectl's -o jsonpath=TEMPLATE. */
export function jsonpath(template: string, data: unknown): string {
  return render(parseTemplate(template), data);
}

// ---- describe-style text -------------------------------------------------------------------

/**
 * Go's text/tabwriter over `\t`-separated lines: a column block is a run of consecutive
 * lines that have a cell in that column, padded to its widest cell plus `pad`.
 */
export function tabwrite(text: string, pad = 2, min = 0): string {
  const lines = text.split("\n").map((l) => l.split("\t"));
  if (lines.length > 0 && lines[lines.length - 1]!.join("") === "") lines.pop();
  const out: string[] = new Array<string>(lines.length);
  const widths: number[] = [];
  const emit = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const cells = lines[i]!;
      out[i] = cells
        .map((c, j) => (j < cells.length - 1 && j < widths.length ? c.padEnd(widths[j]!) : c))
        .join("");
    }
  };
  const format = (line0: number, line1: number, column: number): void => {
    let start = line0;
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i]!.length - 1) continue;
      emit(start, i);
      let width = min;
      let j = i;
      for (; j < line1 && column < lines[j]!.length - 1; j++) {
        width = Math.max(width, [...lines[j]![column]!].length + pad);
      }
      widths.push(width);
      format(i, j, column + 1);
      widths.pop();
      start = j;
      i = j - 1;
    }
    emit(start, line1);
  };
  format(0, lines.length, 0);
  return out.map((l) => l + "\n").join("");
}
