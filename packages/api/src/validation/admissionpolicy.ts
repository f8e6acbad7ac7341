// ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding checks, worded as
// Kubernetes 1.31's admissionregistration validation words them. CEL expressions are
// compiled here, so a policy that cannot run is refused at create with the field's path.
import { policyExpressionError, type PolicyExpressionType } from "../admission-policy-cel.js";
import type {
  MatchResources,
  ParamRef,
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
} from "../schemas/admissionpolicy.js";
import type { FieldErrors } from "./errors.js";
import { validateMatchConditions, validateRule } from "./admissionregistration.js";
import { validateLabelSelector } from "./meta.js";
import { isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isQualifiedName } from "./names.js";
import { isValidPathSegmentName } from "./rbac.js";

const FAILURE_POLICIES = ["Fail", "Ignore"];
const MATCH_POLICIES = ["Equivalent", "Exact"];
const REASONS = ["Forbidden", "Invalid", "RequestEntityTooLarge", "Unauthorized"];
const ACTIONS = ["Audit", "Deny", "Warn"];
const NOT_FOUND_ACTIONS = ["Allow", "Deny"];
const CEL_IDENTIFIER = /^[_a-zA-Z][_a-zA-Z0-9]*$/;

function compiles(
  errs: FieldErrors,
  path: string,
  expression: string,
  want: PolicyExpressionType,
): void {
  const why = policyExpressionError(expression, want);
  if (why) errs.invalid(path, expression, `compilation failed: ${why}`);
}

export function validateValidatingAdmissionPolicy(
  errs: FieldErrors,
  p: ValidatingAdmissionPolicy,
): void {
  const spec = p.spec;
  if (!spec) return errs.required("spec");
  if (spec.failurePolicy !== undefined && !FAILURE_POLICIES.includes(spec.failurePolicy))
    errs.notSupported("spec.failurePolicy", spec.failurePolicy, FAILURE_POLICIES);
  if (spec.paramKind) {
    const { apiVersion = "", kind = "" } = spec.paramKind;
    const path = "spec.paramKind";
    if (!apiVersion) errs.required(`${path}.apiVersion`);
    else {
      const parts = apiVersion.split("/");
      const [group, version] = parts.length === 2 ? parts : ["", parts[0]!];
      if (parts.length > 2)
        errs.invalid(`${path}.apiVersion`, apiVersion, "unexpected GroupVersion string");
      else {
        if (group) errs.invalidEach(`${path}.apiVersion`, group, isDNS1123Subdomain(group!));
        errs.invalidEach(`${path}.apiVersion`, version, isDNS1035Label(version!));
      }
    }
    if (!kind) errs.required(`${path}.kind`);
    else {
      const why = isDNS1035Label(kind.toLowerCase());
      if (why.length)
        errs.invalid(
          `${path}.kind`,
          kind,
          `may have mixed case, but should otherwise match: ${why.join(",")}`,
        );
    }
  }
  if (!spec.matchConstraints) errs.required("spec.matchConstraints");
  else validateMatchResources(errs, spec.matchConstraints, "spec.matchConstraints", true);

  const validations = spec.validations ?? [];
  const annotations = spec.auditAnnotations ?? [];
  if (validations.length === 0 && annotations.length === 0)
    errs.required(
      "spec.validations",
      "validations or auditAnnotations must contain at least one item",
    );
  validations.forEach((v, i) => {
    const path = `spec.validations[${i}]`;
    if (!v.expression?.trim()) errs.required(`${path}.expression`, "expression is not specified");
    else compiles(errs, `${path}.expression`, v.expression, "bool");
    if (v.messageExpression !== undefined) {
      if (!v.messageExpression.trim())
        errs.invalid(
          `${path}.messageExpression`,
          v.messageExpression,
          "must be non-empty if specified",
        );
      else compiles(errs, `${path}.messageExpression`, v.messageExpression, "string");
    }
    if (v.message !== undefined) {
      if (v.message.length > 0 && !v.message.trim())
        errs.invalid(`${path}.message`, v.message, "message must be non-empty if specified");
      else if (/[\r\n]/.test(v.message.trim()))
        errs.invalid(`${path}.message`, v.message, "message must not contain line breaks");
    }
    if (v.reason !== undefined && !REASONS.includes(v.reason))
      errs.notSupported(`${path}.reason`, v.reason, REASONS);
  });

  const keys = new Set<string>();
  annotations.forEach((a, i) => {
    const path = `spec.auditAnnotations[${i}]`;
    if (!a.key) errs.required(`${path}.key`);
    else {
      const full = `${p.metadata?.name ?? ""}/${a.key}`;
      errs.invalidEach(`${path}.key`, a.key, isQualifiedName(full));
      if (keys.has(a.key)) errs.duplicate(`${path}.key`, a.key);
      keys.add(a.key);
    }
    if (!a.valueExpression?.trim())
      errs.required(`${path}.valueExpression`, "valueExpression is not specified");
    else compiles(errs, `${path}.valueExpression`, a.valueExpression, "string-or-null");
  });

  const names = new Set<string>();
  (spec.variables ?? []).forEach((v, i) => {
    const path = `spec.variables[${i}]`;
    if (!v.name) errs.required(`${path}.name`);
    else {
      if (!CEL_IDENTIFIER.test(v.name))
        errs.invalid(`${path}.name`, v.name, "name is not a valid CEL identifier");
      if (names.has(v.name)) errs.duplicate(`${path}.name`, v.name);
      names.add(v.name);
    }
    if (!v.expression?.trim()) errs.required(`${path}.expression`, "expression is not specified");
    else compiles(errs, `${path}.expression`, v.expression, "any");
  });
  validateMatchConditions(errs, spec.matchConditions ?? [], "spec.matchConditions");
}

function validateMatchResources(
  errs: FieldErrors,
  m: MatchResources,
  path: string,
  requireRules: boolean,
): void {
  if (m.matchPolicy !== undefined && !MATCH_POLICIES.includes(m.matchPolicy))
    errs.notSupported(`${path}.matchPolicy`, m.matchPolicy, MATCH_POLICIES);
  validateLabelSelector(errs, m.namespaceSelector, `${path}.namespaceSelector`);
  validateLabelSelector(errs, m.objectSelector, `${path}.objectSelector`);
  if (requireRules && (m.resourceRules ?? []).length === 0) errs.required(`${path}.resourceRules`);
  for (const field of ["resourceRules", "excludeResourceRules"] as const) {
    (m[field] ?? []).forEach((r, i) => {
      const p = `${path}.${field}[${i}]`;
      validateRule(errs, r, p);
      const seen = new Set<string>();
      (r.resourceNames ?? []).forEach((n, j) => {
        for (const why of isValidPathSegmentName(n))
          errs.invalid(`${p}.resourceNames[${j}]`, n, why);
        if (seen.has(n)) errs.duplicate(`${p}.resourceNames[${j}]`, n);
        seen.add(n);
      });
    });
  }
}

export function validateValidatingAdmissionPolicyBinding(
  errs: FieldErrors,
  b: ValidatingAdmissionPolicyBinding,
): void {
  const spec = b.spec;
  if (!spec) return errs.required("spec");
  if (!spec.policyName) errs.required("spec.policyName");
  else errs.invalidEach("spec.policyName", spec.policyName, isDNS1123Subdomain(spec.policyName));
  if (spec.paramRef) validateParamRef(errs, spec.paramRef, "spec.paramRef");
  if (spec.matchResources)
    validateMatchResources(errs, spec.matchResources, "spec.matchResources", false);
  const actions = spec.validationActions ?? [];
  if (actions.length === 0)
    errs.required("spec.validationActions", "at least one validation action is required");
  const seen = new Set<string>();
  actions.forEach((a, i) => {
    if (!ACTIONS.includes(a)) errs.notSupported(`spec.validationActions[${i}]`, a, ACTIONS);
    if (seen.has(a)) errs.duplicate(`spec.validationActions[${i}]`, a);
    seen.add(a);
  });
  if (seen.has("Deny") && seen.has("Warn"))
    errs.invalid(
      "spec.validationActions",
      actions,
      "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)",
    );
}

function validateParamRef(errs: FieldErrors, ref: ParamRef, path: string): void {
  if (ref.name) {
    for (const why of isValidPathSegmentName(ref.name)) errs.invalid(`${path}.name`, ref.name, why);
    if (ref.selector) errs.forbidden(`${path}.name`, "name and selector are mutually exclusive");
  }
  if (ref.selector) validateLabelSelector(errs, ref.selector, `${path}.selector`);
  if (!ref.name && !ref.selector) errs.required(path, "one of name or selector must be specified");
  if (ref.namespace)
    errs.invalidEach(`${path}.namespace`, ref.namespace, isDNS1123Label(ref.namespace));
  const action = ref.parameterNotFoundAction;
  if (!action) errs.required(`${path}.parameterNotFoundAction`);
  else if (!NOT_FOUND_ACTIONS.includes(action))
    errs.notSupported(`${path}.parameterNotFoundAction`, action, NOT_FOUND_ACTIONS);
}
