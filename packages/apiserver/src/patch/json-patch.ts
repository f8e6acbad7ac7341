// RFC 6902 JSON patch (`application/json-patch+json`): add, remove, replace, move, copy, test.

import { badPatch, unappliable } from "./errors.js";
import { clone, deepEqual, isObject, put } from "./json.js";

type Op = "add" | "remove" | "replace" | "move" | "copy" | "test";
interface Operation {
  op: Op;
  path: string[];
  pathText: string;
  from?: string[];
  fromText?: string;
  value?: unknown;
}

const ops = new Set<string>(["add", "remove", "replace", "move", "copy", "test"]);

/**
 * Applies the operations in order to a copy of `target`. A malformed operation list is a
 * 400; an operation that does not apply (missing path, failed `test`) is a 422, as in Kubernetes.
 */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  const parsed = parseOperations(operations);
  let doc = clone(target);
  for (const op of parsed) doc = applyOne(doc, op);
  return doc;
}

function parseOperations(operations: unknown): Operation[] {
  if (!Array.isArray(operations)) throw badPatch("a JSON patch must be an array of operations");
  return operations.map((raw, i) => {
    if (!isObject(raw)) throw badPatch(`JSON patch operation ${i} is not an object`);
    const { op, path, from } = raw;
    if (typeof op !== "string" || !ops.has(op)) {
      throw badPatch(
        `JSON patch operation ${i} has unknown op ${JSON.stringify(op)}: expected one of add, remove, replace, move, copy, test`,
      );
    }
    if (typeof path !== "string")
      throw badPatch(`JSON patch operation ${i} (${op}) needs a string "path"`);
    const parsed: Operation = { op: op as Op, path: parsePointer(path, i), pathText: path };
    if (op === "add" || op === "replace" || op === "test") {
      if (!Object.hasOwn(raw, "value"))
        throw badPatch(`JSON patch operation ${i} (${op}) needs a "value"`);
      parsed.value = raw.value;
    }
    if (op === "move" || op === "copy") {
      if (typeof from !== "string")
        throw badPatch(`JSON patch operation ${i} (${op}) needs a string "from"`);
      parsed.from = parsePointer(from, i);
      parsed.fromText = from;
    }
    return parsed;
  });
}

// RFC 6901: "" is the whole document; "/a/b~1c" is ["a", "b/c"].
function parsePointer(pointer: string, i: number): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/"))
    throw badPatch(
      `JSON patch operation ${i}: path ${JSON.stringify(pointer)} must be empty or start with "/"`,
    );
  return pointer
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function applyOne(doc: unknown, op: Operation): unknown {
  switch (op.op) {
    case "add":
      return add(doc, op.path, clone(op.value), op.pathText);
    case "remove":
      return remove(doc, op.path, op.pathText).doc;
    case "replace":
      get(doc, op.path, op.pathText); // must exist
      return add(remove(doc, op.path, op.pathText).doc, op.path, clone(op.value), op.pathText);
    case "move": {
      const from = op.from ?? [];
      const isPrefix = from.length < op.path.length && from.every((t, i) => t === op.path[i]);
      if (isPrefix)
        throw unappliable(
          `move operation cannot move ${op.fromText} into its own child ${op.pathText}`,
        );
      const { doc: rest, value } = remove(doc, from, op.fromText ?? "");
      return add(rest, op.path, value, op.pathText);
    }
    case "copy":
      return add(doc, op.path, clone(get(doc, op.from ?? [], op.fromText ?? "")), op.pathText);
    case "test": {
      const actual = get(doc, op.path, op.pathText);
      if (!deepEqual(actual, op.value)) {
        throw unappliable(
          `testing value ${op.pathText} failed: found ${JSON.stringify(actual)}, expected ${JSON.stringify(op.value)}`,
        );
      }
      return doc;
    }
  }
}

function missing(pathText: string): Error {
  return unappliable(
    `the JSON patch path ${JSON.stringify(pathText)} does not exist in the object`,
  );
}

function arrayIndex(token: string, length: number, pathText: string, allowEnd: boolean): number {
  if (allowEnd && token === "-") return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token))
    throw unappliable(
      `the JSON patch path ${JSON.stringify(pathText)} has ${JSON.stringify(token)} where an array index is needed`,
    );
  const index = Number(token);
  if (index > length || (!allowEnd && index === length))
    throw unappliable(
      `the JSON patch path ${JSON.stringify(pathText)}: index ${index} is out of bounds`,
    );
  return index;
}

function get(doc: unknown, path: string[], pathText: string): unknown {
  let node = doc;
  for (const token of path) {
    if (Array.isArray(node)) node = node[arrayIndex(token, node.length, pathText, false)];
    else if (isObject(node) && Object.hasOwn(node, token)) node = node[token];
    else throw missing(pathText);
  }
  return node;
}

// The container holding the last token of `path`; it must exist.
function parentOf(doc: unknown, path: string[], pathText: string): unknown {
  return get(doc, path.slice(0, -1), pathText);
}

function add(doc: unknown, path: string[], value: unknown, pathText: string): unknown {
  const last = path.at(-1);
  if (last === undefined) return value; // the whole document
  const parent = parentOf(doc, path, pathText);
  if (Array.isArray(parent))
    parent.splice(arrayIndex(last, parent.length, pathText, true), 0, value);
  else if (isObject(parent)) put(parent, last, value);
  else throw missing(pathText);
  return doc;
}

function remove(doc: unknown, path: string[], pathText: string): { doc: unknown; value: unknown } {
  const last = path.at(-1);
  if (last === undefined) return { doc: null, value: doc };
  const parent = parentOf(doc, path, pathText);
  if (Array.isArray(parent)) {
    const [value] = parent.splice(arrayIndex(last, parent.length, pathText, false), 1);
    return { doc, value };
  }
  if (isObject(parent) && Object.hasOwn(parent, last)) {
    const value = parent[last];
    delete parent[last];
    return { doc, value };
  }
  throw missing(pathText);
}
