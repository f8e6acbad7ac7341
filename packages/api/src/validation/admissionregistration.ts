// MutatingWebhookConfiguration and ValidatingWebhookConfiguration checks, worded as
// Kubernetes 1.31's admissionregistration validation words them.
import { conditionError } from "../admission-cel.js";
import type {
  MutatingWebhook,
  MutatingWebhookConfiguration,
  RuleWithOperations,
  ValidatingWebhook,
  ValidatingWebhookConfiguration,
  WebhookClientConfig,
} from "../schemas/admissionregistration.js";
import type { FieldErrors } from "./errors.js";
import { validateLabelSelector } from "./meta.js";
import { isDNS1123Subdomain, isQualifiedName } from "./names.js";

const OPERATIONS = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"];
const SCOPES = ["*", "Cluster", "Namespaced"];
const FAILURE_POLICIES = ["Fail", "Ignore"];
const MATCH_POLICIES = ["Equivalent", "Exact"];
const SIDE_EFFECTS = ["None", "NoneOnDryRun"];
const REINVOCATION = ["IfNeeded", "Never"];
const REVIEW_VERSIONS = ["v1", "v1beta1"];

export function validateValidatingWebhookConfiguration(
  errs: FieldErrors,
  c: ValidatingWebhookConfiguration,
): void {
  validateWebhooks(errs, c.webhooks ?? []);
}

export function validateMutatingWebhookConfiguration(
  errs: FieldErrors,
  c: MutatingWebhookConfiguration,
): void {
  validateWebhooks(errs, c.webhooks ?? []);
  (c.webhooks ?? []).forEach((w, i) => {
    if (w.reinvocationPolicy !== undefined && !REINVOCATION.includes(w.reinvocationPolicy))
      errs.notSupported(`webhooks[${i}].reinvocationPolicy`, w.reinvocationPolicy, REINVOCATION);
  });
}

function validateWebhooks(errs: FieldErrors, hooks: (ValidatingWebhook | MutatingWebhook)[]): void {
  const names = new Set<string>();
  hooks.forEach((w, i) => {
    const p = `webhooks[${i}]`;
    if (!w.name) errs.required(`${p}.name`);
    else {
      errs.invalidEach(`${p}.name`, w.name, isDNS1123Subdomain(w.name));
      if (w.name.split(".").length < 3)
        errs.invalid(
          `${p}.name`,
          w.name,
          "should be a domain with at least three segments separated by dots",
        );
      if (names.has(w.name)) errs.duplicate(`${p}.name`, w.name);
      names.add(w.name);
    }
    (w.rules ?? []).forEach((r, j) => validateRule(errs, r, `${p}.rules[${j}]`));
    if (w.failurePolicy !== undefined && !FAILURE_POLICIES.includes(w.failurePolicy))
      errs.notSupported(`${p}.failurePolicy`, w.failurePolicy, FAILURE_POLICIES);
    if (w.matchPolicy !== undefined && !MATCH_POLICIES.includes(w.matchPolicy))
      errs.notSupported(`${p}.matchPolicy`, w.matchPolicy, MATCH_POLICIES);
    // v1 accepts only these; Some and Unknown survive only from v1beta1, which Skiff never served.
    if (!SIDE_EFFECTS.includes(w.sideEffects ?? ""))
      errs.notSupported(`${p}.sideEffects`, w.sideEffects ?? "", SIDE_EFFECTS);
    if (w.timeoutSeconds !== undefined && (w.timeoutSeconds < 1 || w.timeoutSeconds > 30))
      errs.invalid(
        `${p}.timeoutSeconds`,
        w.timeoutSeconds,
        "the timeout value must be between 1 and 30 seconds",
      );
    validateReviewVersions(errs, w.admissionReviewVersions ?? [], `${p}.admissionReviewVersions`);
    validateLabelSelector(errs, w.namespaceSelector, `${p}.namespaceSelector`);
    validateLabelSelector(errs, w.objectSelector, `${p}.objectSelector`);
    validateClientConfig(errs, w.clientConfig, `${p}.clientConfig`);
    validateMatchConditions(errs, w.matchConditions ?? [], `${p}.matchConditions`);
  });
}

function validateReviewVersions(errs: FieldErrors, versions: string[], path: string): void {
  if (versions.length === 0) {
    errs.required(path, `must specify one of ${REVIEW_VERSIONS.join(", ")}`);
    return;
  }
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    if (seen.has(v)) errs.duplicate(`${path}[${i}]`, v);
    seen.add(v);
  });
  if (!versions.some((v) => REVIEW_VERSIONS.includes(v)))
    errs.invalid(path, versions, `must include at least one of ${REVIEW_VERSIONS.join(", ")}`);
}

/** `*` alone, or names without `*`: the same rule Kubernetes applies to groups and versions. */
function starAlone(errs: FieldErrors, values: string[], path: string, what: string): void {
  if (values.length > 1 && values.includes("*"))
    errs.invalid(path, values, `if '*' is present, must not specify other ${what}`);
}

export function validateRule(errs: FieldErrors, r: RuleWithOperations, path: string): void {
  const ops = r.operations ?? [];
  if (ops.length === 0) errs.required(`${path}.operations`);
  starAlone(errs, ops, `${path}.operations`, "operations");
  ops.forEach((o, i) => {
    if (!OPERATIONS.includes(o)) errs.notSupported(`${path}.operations[${i}]`, o, OPERATIONS);
  });
  const groups = r.apiGroups ?? [];
  if (groups.length === 0) errs.required(`${path}.apiGroups`);
  starAlone(errs, groups, `${path}.apiGroups`, "API groups");
  const versions = r.apiVersions ?? [];
  if (versions.length === 0) errs.required(`${path}.apiVersions`);
  starAlone(errs, versions, `${path}.apiVersions`, "API versions");
  versions.forEach((v, i) => {
    if (v === "") errs.required(`${path}.apiVersions[${i}]`);
  });
  validateResources(errs, r.resources ?? [], `${path}.resources`);
  if (r.scope !== undefined && !SCOPES.includes(r.scope))
    errs.notSupported(`${path}.scope`, r.scope, SCOPES);
}

function validateResources(errs: FieldErrors, resources: string[], path: string): void {
  if (resources.length === 0) {
    errs.required(path);
    return;
  }
  // A resource with all subresources (`pods/*`), or all resources with one (`*/status`).
  const withAllSubs = new Set<string>();
  const subsOfAll = new Set<string>();
  const hasStarStar = resources.includes("*/*");
  resources.forEach((r, i) => {
    const p = `${path}[${i}]`;
    if (r === "") {
      errs.required(p);
      return;
    }
    const [res = "", sub] = r.split("/", 2);
    if (r.split("/").length > 2) {
      errs.invalid(p, r, "must be in the form resource or resource/subresource");
      return;
    }
    if (hasStarStar && r !== "*/*") {
      errs.invalid(p, r, "if '*/*' is present, must not specify other resources");
      return;
    }
    if (sub === "*") withAllSubs.add(res);
    if (res === "*" && sub !== undefined) subsOfAll.add(sub);
  });
  resources.forEach((r, i) => {
    const [res = "", sub] = r.split("/", 2);
    if (sub !== undefined && sub !== "*" && withAllSubs.has(res))
      errs.invalid(`${path}[${i}]`, r, `if '${res}/*' is present, must not specify ${r}`);
    if (res !== "*" && sub !== undefined && subsOfAll.has(sub))
      errs.invalid(`${path}[${i}]`, r, `if '*/${sub}' is present, must not specify ${r}`);
  });
}

function validateClientConfig(
  errs: FieldErrors,
  cc: WebhookClientConfig | undefined,
  path: string,
): void {
  const url = cc?.url;
  const service = cc?.service;
  if ((url === undefined) === (service === undefined)) {
    errs.required(path, "exactly one of url or service is required");
    return;
  }
  if (url !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      errs.invalid(`${path}.url`, url, "host must be specified");
      return;
    }
    if (parsed.protocol !== "https:")
      errs.invalid(`${path}.url`, url, "'https' is the only allowed URL scheme");
    if (!parsed.hostname) errs.invalid(`${path}.url`, url, "host must be specified");
    if (parsed.username || parsed.password)
      errs.invalid(`${path}.url`, url, "user information is not permitted in the URL");
    if (parsed.hash || url.includes("#"))
      errs.invalid(`${path}.url`, url, "fragments are not permitted in the URL");
    if (parsed.search || url.includes("?"))
      errs.invalid(`${path}.url`, url, "query parameters are not permitted in the URL");
  }
  if (service) {
    const p = `${path}.service`;
    if (!service.name) errs.required(`${p}.name`, "service name is required");
    if (!service.namespace) errs.required(`${p}.namespace`, "service namespace is required");
    if (service.path !== undefined && service.path !== "" && !service.path.startsWith("/"))
      errs.invalid(`${p}.path`, service.path, "must start with a '/'");
    if (service.port !== undefined && (service.port < 1 || service.port > 65535))
      errs.invalid(
        `${p}.port`,
        service.port,
        "port is not valid: must be between 1 and 65535, inclusive",
      );
  }
}

export function validateMatchConditions(
  errs: FieldErrors,
  conditions: { name: string; expression: string }[],
  path: string,
): void {
  if (conditions.length > 64) errs.tooMany(path, conditions.length, 64);
  const names = new Set<string>();
  conditions.forEach((c, i) => {
    const p = `${path}[${i}]`;
    if (!c.name) errs.required(`${p}.name`);
    else {
      errs.invalidEach(`${p}.name`, c.name, isQualifiedName(c.name));
      if (names.has(c.name)) errs.duplicate(`${p}.name`, c.name);
      names.add(c.name);
    }
    if (!c.expression) {
      errs.required(`${p}.expression`);
      return;
    }
    const why = conditionError(c.expression);
    if (why) errs.invalid(`${p}.expression`, c.expression, `compilation failed: ${why}`);
  });
}
