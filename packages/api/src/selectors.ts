// Label and field selectors: parsing the query-string syntax (?labelSelector=, ?fieldSelector=),
// converting metav1.LabelSelector objects, matching, and printing them as kubectl does.

/** A selector that cannot be parsed; the apiserver answers it with 400 BadRequest. */
export class SelectorError extends Error {
  override name = "SelectorError";
}

export type SelectorOperator =
  "In" | "NotIn" | "Exists" | "DoesNotExist" | "Equals" | "NotEquals" | "Gt" | "Lt";

export interface Requirement {
  key: string;
  operator: SelectorOperator;
  values: string[];
}

/** metav1.LabelSelector as found in Deployment, ReplicaSet, DaemonSet and Job specs. */
export interface LabelSelectorInput {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

// ---- label keys and values -------------------------------------------------------------

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Why a label key is invalid (a qualified name: optional DNS-subdomain prefix, "/", name), or undefined. */
export function labelKeyError(key: string): string | undefined {
  const parts = key.split("/");
  if (parts.length > 2) return `invalid label key "${key}": may contain at most one "/"`;
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix.length === 0) return `invalid label key "${key}": prefix part must be non-empty`;
    if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
      return `invalid label key "${key}": prefix part must be a lowercase DNS subdomain of at most 253 characters`;
    }
  }
  if (name.length === 0) return `invalid label key "${key}": name part must be non-empty`;
  if (name.length > 63)
    return `invalid label key "${key}": name part must be no more than 63 characters`;
  if (!NAME.test(name)) {
    return `invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
  }
  return undefined;
}

/** Why a label value is invalid, or undefined. */
export function labelValueError(value: string): string | undefined {
  if (value.length > 63)
    return `invalid label value "${value}": must be no more than 63 characters`;
  if (!LABEL_VALUE.test(value)) {
    return `invalid label value "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
  }
  return undefined;
}

// ---- building and checking requirements ------------------------------------------------

const INTEGER = /^[+-]?[0-9]+$/;

/** Builds a requirement, checking it the way Kubernetes' labels.NewRequirement does. */
export function newRequirement(
  key: string,
  operator: SelectorOperator,
  values: string[],
): Requirement {
  const keyError = labelKeyError(key);
  if (keyError) throw new SelectorError(keyError);
  switch (operator) {
    case "In":
    case "NotIn":
      if (values.length === 0) {
        throw new SelectorError(
          `for 'in', 'notin' operators, values set can't be empty (key "${key}")`,
        );
      }
      break;
    case "Equals":
    case "NotEquals":
      if (values.length !== 1) {
        throw new SelectorError(
          `exact-match compatibility requires one single value (key "${key}")`,
        );
      }
      break;
    case "Exists":
    case "DoesNotExist":
      if (values.length !== 0) {
        throw new SelectorError(
          `values set must be empty for exists and does not exist (key "${key}")`,
        );
      }
      break;
    case "Gt":
    case "Lt":
      if (values.length !== 1 || !INTEGER.test(values[0]!)) {
        throw new SelectorError(
          `for 'Gt', 'Lt' operators, the value must be a single integer (key "${key}")`,
        );
      }
      return { key, operator, values };
  }
  for (const v of values) {
    const valueError = labelValueError(v);
    if (valueError) throw new SelectorError(valueError);
  }
  // Kubernetes keeps set values sorted and unique; printing relies on it.
  const set = operator === "In" || operator === "NotIn" ? [...new Set(values)].sort() : values;
  return { key, operator, values: set };
}

function byKey(a: Requirement, b: Requirement): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

// ---- the query-string syntax -------------------------------------------------------------

type Token =
  | { kind: "id"; text: string }
  | { kind: "op"; text: "!" | "=" | "==" | "!=" | "(" | ")" | "," | ">" | "<" }
  | { kind: "in" | "notin"; text: string }
  | { kind: "end"; text: "" };

const SPECIAL = new Set(["!", "=", "(", ")", ",", ">", "<"]);

function lex(s: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "=" || c === "!") {
      const two = s.slice(i, i + 2);
      if (two === "==" || two === "!=") {
        tokens.push({ kind: "op", text: two });
        i += 2;
      } else {
        tokens.push({ kind: "op", text: c });
        i++;
      }
    } else if (SPECIAL.has(c)) {
      tokens.push({ kind: "op", text: c as "(" | ")" | "," | ">" | "<" });
      i++;
    } else {
      let j = i;
      while (j < s.length && !SPECIAL.has(s[j]!) && !/\s/.test(s[j]!)) j++;
      const text = s.slice(i, j);
      if (text === "in" || text === "notin") tokens.push({ kind: text, text });
      else tokens.push({ kind: "id", text });
      i = j;
    }
  }
  tokens.push({ kind: "end", text: "" });
  return tokens;
}

function describe(t: Token): string {
  return t.kind === "end" ? "'end of string'" : `'${t.text}'`;
}

/**
 * Parses a label selector as written in ?labelSelector= and `kubectl -l`:
 * `app=web,tier!=db`, `env in (prod,qa)`, `env notin (dev)`, `gpu`, `!gpu`, `a==b`,
 * `replicas>1`. The empty string selects everything (no requirements).
 */
export function parseLabelSelector(s: string): Requirement[] {
  const tokens = lex(s);
  let pos = 0;
  const peek = (): Token => tokens[pos]!;
  const next = (): Token => tokens[pos++]!;
  const fail = (what: string): never => {
    throw new SelectorError(`unable to parse label selector "${s}": ${what}`);
  };

  const requirements: Requirement[] = [];
  if (peek().kind === "end") return requirements;
  for (;;) {
    const start = peek();
    if (start.kind !== "id" && !(start.kind === "op" && start.text === "!")) {
      fail(`found ${describe(start)}, expected: !, identifier, or 'end of string'`);
    }
    requirements.push(parseRequirement());
    const after = next();
    if (after.kind === "end") break;
    if (!(after.kind === "op" && after.text === ",")) {
      fail(`found ${describe(after)}, expected: ',' or 'end of string'`);
    }
  }
  return requirements.sort(byKey);

  function parseRequirement(): Requirement {
    let negated = false;
    if (peek().text === "!" && peek().kind === "op") {
      next();
      negated = true;
    }
    const keyToken = next();
    if (keyToken.kind !== "id") fail(`found ${describe(keyToken)}, expected: identifier`);
    const key = keyToken.text;
    const build = (op: SelectorOperator, values: string[]): Requirement => {
      try {
        return newRequirement(key, op, values);
      } catch (e) {
        return fail((e as Error).message);
      }
    };
    const lookahead = peek();
    if (lookahead.kind === "end" || (lookahead.kind === "op" && lookahead.text === ",")) {
      return build(negated ? "DoesNotExist" : "Exists", []);
    }
    if (negated)
      fail(`found ${describe(lookahead)}, expected: ',' or 'end of string' after '!${key}'`);
    const op = next();
    switch (op.kind === "op" ? op.text : op.kind) {
      case "in":
        return build("In", parseSet());
      case "notin":
        return build("NotIn", parseSet());
      case "=":
      case "==":
        return build("Equals", [parseValue()]);
      case "!=":
        return build("NotEquals", [parseValue()]);
      case ">":
        return build("Gt", [parseValue()]);
      case "<":
        return build("Lt", [parseValue()]);
      default:
        return fail(
          `found ${describe(op)} after key "${key}", expected: '=', '!=', '==', 'in', 'notin', '>' or '<'`,
        );
    }
  }

  // After =, == or !=: a value, or nothing at all (meaning the empty value).
  function parseValue(): string {
    const t = peek();
    if (t.kind === "end" || (t.kind === "op" && t.text === ",")) return "";
    if (t.kind === "op") fail(`found ${describe(t)}, expected: identifier`);
    next();
    return t.text;
  }

  // "(a, b, c)" after in/notin; empty members stand for the empty value.
  function parseSet(): string[] {
    const open = next();
    if (!(open.kind === "op" && open.text === "(")) fail(`found ${describe(open)}, expected: '('`);
    const values: string[] = [];
    let expectValue = true;
    for (;;) {
      const t = next();
      if (t.kind === "op" && t.text === ")") {
        if (expectValue && values.length > 0) values.push("");
        return values;
      }
      if (t.kind === "op" && t.text === ",") {
        if (expectValue) values.push("");
        expectValue = true;
        continue;
      }
      if (t.kind === "end") fail("found 'end of string', expected: ')'");
      if (t.kind === "op" || !expectValue) fail(`found ${describe(t)}, expected: ',' or ')'`);
      values.push(t.text);
      expectValue = false;
    }
  }
}

// ---- metav1.LabelSelector ---------------------------------------------------------------

const SELECTOR_OPERATORS: Record<string, SelectorOperator> = {
  In: "In",
  NotIn: "NotIn",
  Exists: "Exists",
  DoesNotExist: "DoesNotExist",
};

/**
 * Converts a LabelSelector object (matchLabels and matchExpressions) to requirements.
 * An empty selector gives no requirements, which matches everything; whether an absent
 * selector should match nothing is for the caller to decide.
 */
export function labelSelectorToRequirements(sel: LabelSelectorInput): Requirement[] {
  const requirements: Requirement[] = [];
  // The selector usually comes straight from a request body, so shapes are checked too.
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) {
    if (typeof value !== "string") {
      throw new SelectorError(`matchLabels["${key}"] must be a string`);
    }
    requirements.push(newRequirement(key, "Equals", [value]));
  }
  for (const expr of sel.matchExpressions ?? []) {
    const values: unknown = expr.values ?? [];
    if (
      typeof expr.key !== "string" ||
      !Array.isArray(values) ||
      values.some((v) => typeof v !== "string")
    ) {
      throw new SelectorError("matchExpressions need a string key and a list of string values");
    }
    const operator = SELECTOR_OPERATORS[expr.operator];
    if (operator === undefined) {
      throw new SelectorError(`"${expr.operator}" is not a valid label selector operator`);
    }
    requirements.push(newRequirement(expr.key, operator, expr.values ?? []));
  }
  return requirements.sort(byKey);
}

// ---- matching ----------------------------------------------------------------------------

/** Whether labels satisfy every requirement; no requirements match everything. */
export function matchesLabels(
  reqs: Requirement[],
  labels: Record<string, string> | undefined,
): boolean {
  return reqs.every((r) => requirementMatches(r, labels ?? {}));
}

function requirementMatches(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key]! : undefined;
  switch (r.operator) {
    case "In":
    case "Equals":
      return value !== undefined && r.values.includes(value);
    case "NotIn":
    case "NotEquals":
      return value === undefined || !r.values.includes(value);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
    case "Lt": {
      // A label that is not an integer never satisfies Gt/Lt.
      if (value === undefined || !INTEGER.test(value) || !INTEGER.test(r.values[0] ?? ""))
        return false;
      const have = BigInt(value);
      const want = BigInt(r.values[0]!);
      return r.operator === "Gt" ? have > want : have < want;
    }
  }
}

/**
 * Whether a node's labels satisfy one NodeSelectorRequirement (nodeAffinity terms), with
 * Gt/Lt comparing integers. An invalid requirement matches nothing, as in the scheduler.
 */
export function nodeSelectorRequirementMatches(
  req: { key: string; operator: string; values?: string[] },
  labels: Record<string, string> | undefined,
): boolean {
  const operators: Record<string, SelectorOperator> = {
    ...SELECTOR_OPERATORS,
    Gt: "Gt",
    Lt: "Lt",
  };
  const operator = operators[req.operator];
  if (operator === undefined) return false;
  try {
    return matchesLabels([newRequirement(req.key, operator, req.values ?? [])], labels);
  } catch {
    return false;
  }
}

// ---- printing ----------------------------------------------------------------------------

/** Prints requirements in Kubernetes' selector syntax: `app=web,tier in (a,b),!gpu`. */
export function requirementsToString(reqs: Requirement[]): string {
  return reqs
    .map((r) => {
      switch (r.operator) {
        case "Equals":
          return `${r.key}=${r.values[0] ?? ""}`;
        case "NotEquals":
          return `${r.key}!=${r.values[0] ?? ""}`;
        case "In":
          return `${r.key} in (${r.values.join(",")})`;
        case "NotIn":
          return `${r.key} notin (${r.values.join(",")})`;
        case "Exists":
          return r.key;
        case "DoesNotExist":
          return `!${r.key}`;
        case "Gt":
          return `${r.key}>${r.values[0] ?? ""}`;
        case "Lt":
          return `${r.key}<${r.values[0] ?? ""}`;
      }
    })
    .join(",");
}

/** A LabelSelector as kubectl and status.selector print it; "" for an empty selector. */
export function labelSelectorToString(sel: LabelSelectorInput): string {
  return requirementsToString(labelSelectorToRequirements(sel));
}

// ---- field selectors ----------------------------------------------------------------------

export interface FieldRequirement {
  field: string;
  operator: "=" | "!=";
  value: string;
}

/**
 * Parses a field selector as in ?fieldSelector=: comma-separated `field=value`,
 * `field==value` or `field!=value`. In values, `\,`, `\=` and `\\` stand for the
 * characters themselves; any other backslash, or a bare `,`/`=` in a value, is an error.
 */
export function parseFieldSelector(s: string): FieldRequirement[] {
  const requirements: FieldRequirement[] = [];
  for (const term of splitTerms(s)) {
    if (term === "") continue;
    const op = /!=|==|=/.exec(term);
    if (!op) throw new SelectorError(`invalid selector: '${s}'; can't understand '${term}'`);
    const field = term.slice(0, op.index);
    const value = unescapeFieldValue(term.slice(op.index + op[0].length));
    requirements.push({ field, operator: op[0] === "!=" ? "!=" : "=", value });
  }
  return requirements;
}

// Splits on commas that are not escaped by a backslash.
function splitTerms(s: string): string[] {
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (escaped) escaped = false;
    else if (c === "\\") escaped = true;
    else if (c === ",") {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

function unescapeFieldValue(raw: string): string {
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === "\\") {
      const n = raw[i + 1];
      if (n !== "\\" && n !== "," && n !== "=") {
        throw new SelectorError(`invalid field selector: invalid escape sequence: \\${n ?? ""}`);
      }
      out += n;
      i++;
    } else if (c === "," || c === "=") {
      throw new SelectorError(`invalid field selector: unescaped character in value: ${c}`);
    } else {
      out += c;
    }
  }
  return out;
}

/** Whether an object's selectable fields satisfy every requirement; a missing field is "". */
export function matchesFields(reqs: FieldRequirement[], fields: Record<string, string>): boolean {
  return reqs.every((r) => {
    const value = Object.hasOwn(fields, r.field) ? fields[r.field]! : "";
    return r.operator === "=" ? value === r.value : value !== r.value;
  });
}

/** Prints field requirements back in query syntax, escaping values. */
export function fieldSelectorToString(reqs: FieldRequirement[]): string {
  return reqs
    .map((r) => `${r.field}${r.operator}${r.value.replace(/[\\,=]/g, (c) => `\\${c}`)}`)
    .join(",");
}
