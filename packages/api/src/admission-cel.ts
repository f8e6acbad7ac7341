// CEL for admission matchConditions: expressions over `object`, `oldObject` and
// `request`, compiled by @marcbachmann/cel-js. Validation compiles them to report errors;
// the apiserver's webhook dispatcher compiles and evaluates them.
import { Environment } from "@marcbachmann/cel-js";

const env = new Environment({ unlistedVariablesAreDyn: false, homogeneousAggregateLiterals: false })
  .registerVariable("object", "dyn")
  .registerVariable("oldObject", "dyn")
  .registerVariable("request", "dyn");

export type Condition = (vars: {
  object: unknown;
  oldObject: unknown;
  request: unknown;
}) => boolean;

/** Compiles a matchCondition; throws an Error whose message says why it does not compile. */
export function compileCondition(expression: string): Condition {
  const program = env.parse(expression);
  const checked = program.check();
  if (!checked.valid) throw new Error(checked.error?.message ?? "does not type-check");
  if (checked.type !== "bool" && checked.type !== "dyn")
    throw new Error(`must evaluate to bool, not ${checked.type}`);
  return (vars) => {
    const out = program(vars) as unknown;
    if (typeof out !== "boolean") throw new Error(`evaluated to ${typeof out}, not bool`);
    return out;
  };
}

/** Why an expression does not compile, or undefined when it does. */
export function conditionError(expression: string): string | undefined {
  try {
    compileCondition(expression);
    return undefined;
  } catch (e) {
    return (e instanceof Error ? e.message : String(e)).split("\n")[0];
  }
}
