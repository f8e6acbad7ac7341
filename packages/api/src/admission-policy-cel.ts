// CEL for ValidatingAdmissionPolicy: expressions over `object`, `oldObject`, `request`,
// `params`, `namespaceObject` and `variables`, compiled by @marcbachmann/cel-js (the
// library CRD rules and webhook matchConditions use). Validation compiles them to refuse a
// policy that cannot work; the apiserver's policy admission compiles and evaluates them.
import { Environment } from "@marcbachmann/cel-js";
import { toCel } from "./apiextensions/cel.js";

const env = new Environment({ unlistedVariablesAreDyn: false, homogeneousAggregateLiterals: false })
  .registerVariable("object", "dyn")
  .registerVariable("oldObject", "dyn")
  .registerVariable("request", "dyn")
  .registerVariable("params", "dyn")
  .registerVariable("namespaceObject", "dyn")
  .registerVariable("variables", "dyn");

/** What an expression must evaluate to: validations and matchConditions bool, messages string. */
export type PolicyExpressionType = "bool" | "string" | "string-or-null" | "any";

/** The values an expression sees (JSON; integers become CEL ints when evaluated). */
export interface PolicyVariables {
  object: unknown;
  oldObject: unknown;
  request: unknown;
  params: unknown;
  namespaceObject: unknown;
  /** Evaluated lazily: each variable once, when an expression first reads it. */
  variables: Record<string, unknown>;
}

export type PolicyProgram = (vars: PolicyActivation) => unknown;

/** Variables ready for evaluation (see policyActivation). */
export interface PolicyActivation {
  readonly cel: Record<string, unknown>;
}

const accepts: Record<PolicyExpressionType, string[]> = {
  bool: ["bool", "dyn"],
  string: ["string", "dyn"],
  "string-or-null": ["string", "null", "dyn"],
  any: [],
};

/** Compiles an expression; throws an Error whose first line says why it does not compile. */
export function compilePolicyExpression(
  expression: string,
  want: PolicyExpressionType,
): PolicyProgram {
  const program = env.parse(expression);
  const checked = program.check();
  if (!checked.valid) throw new Error(checked.error?.message ?? "does not type-check");
  const ok = accepts[want];
  const type = checked.type ?? "dyn";
  if (ok.length > 0 && !ok.includes(type))
    throw new Error(`must evaluate to ${want.replace("-or-", " or ")}, not ${type}`);
  return (vars) => {
    const out = program(vars.cel) as unknown;
    if (want === "bool" && typeof out !== "boolean")
      throw new Error(`expected bool, got ${typeof out}`);
    if (want === "string" && typeof out !== "string")
      throw new Error(`expected string, got ${typeof out}`);
    return out;
  };
}

/** Why an expression does not compile (first line), or undefined when it does. */
export function policyExpressionError(
  expression: string,
  want: PolicyExpressionType,
): string | undefined {
  try {
    compilePolicyExpression(expression, want);
    return undefined;
  } catch (e) {
    return (e instanceof Error ? e.message : String(e)).split("\n")[0];
  }
}

/**
 * The activation for one evaluation: JSON values converted for CEL once, and the policy's
 * variables (name → compiled expression, in order) evaluated on first use, each seeing the
 * ones before it. A variable whose evaluation fails fails every expression that reads it.
 */
export function policyActivation(
  values: Omit<PolicyVariables, "variables">,
  variables: { name: string; program: PolicyProgram | Error }[] = [],
): PolicyActivation {
  const lazy: Record<string, unknown> = {};
  const activation: PolicyActivation = {
    cel: {
      object: toCel(values.object ?? null),
      oldObject: toCel(values.oldObject ?? null),
      request: toCel(values.request ?? null),
      params: toCel(values.params ?? null),
      namespaceObject: toCel(values.namespaceObject ?? null),
      variables: lazy,
    },
  };
  for (const v of variables) {
    let done: { value: unknown } | { error: Error } | undefined;
    Object.defineProperty(lazy, v.name, {
      enumerable: true,
      get() {
        if (!done) {
          try {
            if (v.program instanceof Error) throw v.program;
            done = { value: v.program(activation) };
          } catch (e) {
            done = { error: e instanceof Error ? e : new Error(String(e)) };
          }
        }
        if ("error" in done) throw done.error;
        return done.value;
      },
    });
  }
  return activation;
}
