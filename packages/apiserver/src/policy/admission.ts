// ValidatingAdmissionPolicy admission: after mutating admission and schema validation,
// before the validating webhooks (Kubernetes' plugin order), every binding whose policy
// matches the request evaluates the policy's CEL validations against the object, its
// old version, the request, the binding's params and the namespace, then acts on each
// failure as the binding says: Deny (the request fails with the validation's reason),
// Warn (a Warning header), Audit (an audit annotation). auditAnnotations are recorded too.
import {
  compilePolicyExpression,
  labelSelectorToRequirements,
  matchesLabels,
  policyActivation,
  type PolicyActivation,
  type PolicyProgram,
  type ResourceInfo,
  type ValidatingAdmissionPolicy,
  type ValidatingAdmissionPolicyBinding,
} from "@skiff/api";
import { PolicyDeniedError } from "../errors.js";
import { meta, type KubeObject } from "../objects.js";
import { reviewRequest, type AdmissionAttributes } from "../webhooks/dispatch.js";
import { matchResources, type MatchLabels } from "./match.js";

type Obj = Record<string, unknown>;

export interface PolicySources {
  policies(): Promise<Obj[]>;
  bindings(): Promise<Obj[]>;
  /** A Namespace object, or undefined when it does not exist. */
  namespace(name: string): Promise<KubeObject | undefined>;
  /** The served resource of a paramKind (built-in or custom), or undefined. */
  paramResource(apiVersion: string, kind: string): ResourceInfo | undefined;
  /** The objects of a param resource (in a namespace, for a namespaced one). */
  listParams(info: ResourceInfo, namespace: string | undefined): Promise<KubeObject[]>;
  /** Adds audit annotations to the request's audit event. */
  annotate(annotations: Record<string, string>): void;
  log(msg: string, detail: Obj): void;
}

/** A policy's expressions, compiled once per policy generation. */
interface Compiled {
  key: string;
  variables: { name: string; program: PolicyProgram | Error }[];
  conditions: { name: string; program: PolicyProgram | Error }[];
  validations: {
    expression: string;
    program: PolicyProgram | Error;
    message?: string;
    messageProgram?: PolicyProgram | Error;
    reason?: string;
  }[];
  annotations: { key: string; program: PolicyProgram | Error }[];
}

/** One validation that did not pass (or could not be evaluated under failurePolicy Fail). */
interface Failure {
  message: string;
  reason: string;
  index: number;
}

const FAILURE_ANNOTATION = "validation.policy.admission.k8s.io/validation_failure";

function compile(
  expression: string,
  want: Parameters<typeof compilePolicyExpression>[1],
): PolicyProgram | Error {
  try {
    return compilePolicyExpression(expression, want);
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

const firstLine = (e: unknown): string =>
  (e instanceof Error ? e.message : String(e)).split("\n")[0]!.trim();

function run(program: PolicyProgram | Error, vars: PolicyActivation): unknown {
  if (program instanceof Error) throw program;
  return program(vars);
}

export class PolicyAdmission {
  private readonly compiled = new Map<string, Compiled>();

  constructor(private readonly sources: PolicySources) {}

  /** Evaluates every matching policy binding; throws the first Deny. */
  async validate(
    a: AdmissionAttributes,
    object: KubeObject | undefined,
    oldObject: KubeObject | undefined,
  ): Promise<void> {
    const policies = (await this.sources.policies()) as ValidatingAdmissionPolicy[];
    if (policies.length === 0) return;
    const bindings = (await this.sources.bindings()) as ValidatingAdmissionPolicyBinding[];
    const byName = new Map(policies.map((p) => [p.metadata?.name ?? "", p]));
    const pairs = bindings
      .map((b) => ({ binding: b, policy: byName.get(b.spec?.policyName ?? "") }))
      .filter(
        (
          x,
        ): x is { binding: ValidatingAdmissionPolicyBinding; policy: ValidatingAdmissionPolicy } =>
          Boolean(x.policy?.spec?.matchConstraints),
      )
      .sort((x, y) =>
        (x.binding.metadata?.name ?? "") < (y.binding.metadata?.name ?? "") ? -1 : 1,
      );
    if (pairs.length === 0) return;

    const namespaced = a.info.namespaced && a.namespace;
    // The namespace: for namespaceSelector and as namespaceObject.
    const nsObject = namespaced ? await this.sources.namespace(a.namespace!) : undefined;
    const labels: MatchLabels = {
      namespace: namespaced ? (meta(nsObject ?? { metadata: {} }).labels ?? {}) : undefined,
      object: object === undefined ? undefined : (meta(object).labels ?? {}),
      oldObject: oldObject === undefined ? undefined : (meta(oldObject).labels ?? {}),
    };
    const request = reviewRequest(a, "", object, oldObject);

    const denials: { message: string; reason: string }[] = [];
    const audits: Obj[] = [];
    const annotations: Record<string, string> = {};
    for (const { policy, binding } of pairs) {
      const spec = policy.spec!;
      if (!matchResources(spec.matchConstraints!, a, labels)) continue;
      const bindingMatch = binding.spec?.matchResources;
      if (bindingMatch && !matchResources(bindingMatch, a, labels)) continue;
      const policyName = policy.metadata?.name ?? "";
      const bindingName = binding.metadata?.name ?? "";
      const failClosed = (spec.failurePolicy ?? "Fail") !== "Ignore";
      const prefix = `ValidatingAdmissionPolicy '${policyName}' with binding '${bindingName}'`;
      /** A problem that is no validation result: denies under Fail, is logged under Ignore. */
      const configError = (why: string): void => {
        if (failClosed)
          denials.push({ message: `${prefix} denied request: ${why}`, reason: "Invalid" });
        else
          this.sources.log("admission policy failed, failing open", {
            policy: policyName,
            binding: bindingName,
            error: why,
          });
      };

      const c = this.compile(policy);
      let params: (KubeObject | null)[];
      try {
        const found = await this.params(policy, binding, a);
        if (found === "allow") continue;
        if (found === "deny") {
          denials.push({
            message: `${prefix} denied request: no params found for policy binding with \`Deny\` parameterNotFoundAction`,
            reason: "Invalid",
          });
          continue;
        }
        params = found;
      } catch (e) {
        configError(`failed to configure binding: ${firstLine(e)}`);
        continue;
      }

      for (const param of params) {
        const vars = policyActivation(
          { object, oldObject, request, params: param, namespaceObject: nsObject ?? null },
          c.variables,
        );
        // matchConditions: all must hold; an error follows the failure policy.
        let matched = true;
        let conditionError: string | undefined;
        for (const cond of c.conditions) {
          try {
            if (run(cond.program, vars) !== true) {
              matched = false;
              break;
            }
          } catch (e) {
            conditionError ??= `expression '${cond.name}' resulted in error: ${firstLine(e)}`;
          }
        }
        if (!matched) continue;
        if (conditionError) {
          configError(`failed to evaluate match conditions: ${conditionError}`);
          continue;
        }

        const failures: Failure[] = [];
        c.validations.forEach((v, index) => {
          let ok: unknown;
          try {
            ok = run(v.program, vars);
          } catch (e) {
            if (failClosed)
              failures.push({
                message: `expression '${v.expression}' resulted in error: ${firstLine(e)}`,
                reason: "Invalid",
                index,
              });
            return;
          }
          if (ok === true) return;
          failures.push({ message: this.message(v, vars), reason: v.reason ?? "Invalid", index });
        });
        for (const an of c.annotations) {
          try {
            const value = run(an.program, vars);
            if (typeof value === "string") annotations[`${policyName}/${an.key}`] = value;
          } catch (e) {
            this.sources.log("audit annotation evaluation failed", {
              policy: policyName,
              key: an.key,
              error: firstLine(e),
            });
          }
        }
        const actions = binding.spec?.validationActions ?? [];
        for (const f of failures) {
          if (actions.includes("Deny"))
            denials.push({ message: `${prefix} denied request: ${f.message}`, reason: f.reason });
          if (actions.includes("Warn"))
            a.request.warnings.push(`Validation failed for ${prefix}: ${f.message}`);
          if (actions.includes("Audit"))
            audits.push({
              message: f.message,
              policy: policyName,
              binding: bindingName,
              expressionIndex: f.index,
              validationActions: actions,
            });
        }
      }
    }
    if (audits.length) annotations[FAILURE_ANNOTATION] = JSON.stringify(audits);
    if (Object.keys(annotations).length) this.sources.annotate(annotations);
    const denied = denials[0];
    if (denied) {
      const name = a.name || meta(object ?? oldObject ?? { metadata: {} }).name || "";
      throw new PolicyDeniedError(
        { kind: a.info.resource, group: a.info.group, name },
        denied.message,
        denied.reason,
      );
    }
  }

  /** messageExpression's string, else message, else Kubernetes' "failed expression: ...". */
  private message(v: Compiled["validations"][number], vars: PolicyActivation): string {
    if (v.messageProgram) {
      try {
        const out = run(v.messageProgram, vars);
        if (typeof out === "string" && out.trim() && !/[\r\n]/.test(out)) return out.trim();
      } catch {
        // Kubernetes falls back to message when messageExpression fails.
      }
    }
    return v.message?.trim() || `failed expression: ${v.expression.trim()}`;
  }

  /**
   * The params a binding evaluates with: [null] without paramKind, the matching objects
   * otherwise; "allow"/"deny" when none exist (parameterNotFoundAction). Throws a
   * configuration error.
   */
  private async params(
    policy: ValidatingAdmissionPolicy,
    binding: ValidatingAdmissionPolicyBinding,
    a: AdmissionAttributes,
  ): Promise<(KubeObject | null)[] | "allow" | "deny"> {
    const kind = policy.spec?.paramKind;
    if (!kind) return [null];
    const ref = binding.spec?.paramRef;
    if (!ref) throw new Error(`paramKind ${kind.kind ?? ""} requires a paramRef in the binding`);
    const info = this.sources.paramResource(kind.apiVersion ?? "", kind.kind ?? "");
    if (!info)
      throw new Error(`paramKind kind \`${kind.apiVersion}, Kind=${kind.kind}\` not known`);
    let namespace: string | undefined;
    if (info.namespaced) {
      namespace = ref.namespace || (a.info.namespaced ? a.namespace : undefined);
      if (!namespace)
        throw new Error(
          "cannot use a namespaced paramRef without a namespace for a cluster-scoped request",
        );
    }
    const all = await this.sources.listParams(info, namespace);
    let found: KubeObject[];
    if (ref.name) found = all.filter((o) => meta(o).name === ref.name);
    else {
      const reqs = labelSelectorToRequirements(ref.selector ?? {});
      found = all.filter((o) => matchesLabels(reqs, meta(o).labels ?? {}));
    }
    if (found.length > 0) return found;
    return ref.parameterNotFoundAction === "Allow" ? "allow" : "deny";
  }

  private compile(policy: ValidatingAdmissionPolicy): Compiled {
    const key = `${policy.metadata?.uid ?? ""}/${policy.metadata?.resourceVersion ?? ""}`;
    const name = policy.metadata?.name ?? "";
    const cached = this.compiled.get(name);
    if (cached?.key === key) return cached;
    const spec = policy.spec ?? {};
    const c: Compiled = {
      key,
      variables: (spec.variables ?? []).map((v) => ({
        name: v.name,
        program: compile(v.expression, "any"),
      })),
      conditions: (spec.matchConditions ?? []).map((m) => ({
        name: m.name,
        program: compile(m.expression, "bool"),
      })),
      validations: (spec.validations ?? []).map((v) => ({
        expression: v.expression,
        program: compile(v.expression, "bool"),
        message: v.message,
        messageProgram: v.messageExpression ? compile(v.messageExpression, "string") : undefined,
        reason: v.reason,
      })),
      annotations: (spec.auditAnnotations ?? []).map((an) => ({
        key: an.key,
        program: compile(an.valueExpression, "string-or-null"),
      })),
    };
    this.compiled.set(name, c);
    return c;
  }
}
