// FlowSchema and PriorityLevelConfiguration checks, worded as Kubernetes 1.31's
// flowcontrol validation words them.
import type {
  FlowSchema,
  PolicyRulesWithSubjects,
  PriorityLevelConfiguration,
} from "../schemas/flowcontrol.js";
import type { FieldErrors } from "./errors.js";

const DISTINGUISHERS = ["ByNamespace", "ByUser"];
const SUBJECT_KINDS = ["Group", "ServiceAccount", "User"];
const PL_TYPES = ["Exempt", "Limited"];
const RESPONSE_TYPES = ["Queue", "Reject"];

export function validateFlowSchema(errs: FieldErrors, fs: FlowSchema): void {
  const spec = fs.spec;
  if (!spec) return errs.required("spec");
  if (!spec.priorityLevelConfiguration?.name)
    errs.required("spec.priorityLevelConfiguration.name", "must reference a priority level");
  const mp = spec.matchingPrecedence ?? 1000;
  if (mp < 1 || mp > 10000)
    errs.invalid("spec.matchingPrecedence", mp, "must be between 1 and 10000, inclusive");
  const dm = spec.distinguisherMethod;
  if (dm && !DISTINGUISHERS.includes(dm.type))
    errs.notSupported("spec.distinguisherMethod.type", dm.type, DISTINGUISHERS);
  (spec.rules ?? []).forEach((r, i) => validateRules(errs, r, `spec.rules[${i}]`));
}

function validateRules(errs: FieldErrors, r: PolicyRulesWithSubjects, path: string): void {
  if ((r.subjects ?? []).length === 0)
    errs.required(`${path}.subjects`, "subjects must contain at least one value");
  (r.subjects ?? []).forEach((s, i) => {
    const p = `${path}.subjects[${i}]`;
    if (!SUBJECT_KINDS.includes(s.kind))
      return errs.notSupported(`${p}.kind`, s.kind, SUBJECT_KINDS);
    const field = s.kind === "User" ? "user" : s.kind === "Group" ? "group" : "serviceAccount";
    const v = s[field];
    if (!v) errs.required(`${p}.${field}`, `${field} is required when subject kind is '${s.kind}'`);
    else {
      if (!v.name) errs.required(`${p}.${field}.name`, `name is required for ${field} subject`);
      if (field === "serviceAccount" && !s.serviceAccount?.namespace)
        errs.required(
          `${p}.serviceAccount.namespace`,
          "must specify namespace for service account",
        );
    }
  });
  const resourceRules = r.resourceRules ?? [];
  const nonResourceRules = r.nonResourceRules ?? [];
  if (resourceRules.length === 0 && nonResourceRules.length === 0)
    errs.required(path, "at least one of resourceRules and nonResourceRules has to be non-empty");
  resourceRules.forEach((rr, i) => {
    const p = `${path}.resourceRules[${i}]`;
    if ((rr.verbs ?? []).length === 0)
      errs.required(`${p}.verbs`, "verbs must contain at least one value");
    if ((rr.apiGroups ?? []).length === 0)
      errs.required(`${p}.apiGroups`, "resource rules must supply at least one api group");
    if ((rr.resources ?? []).length === 0)
      errs.required(`${p}.resources`, "resource rules must supply at least one resource");
    if ((rr.namespaces ?? []).length === 0 && !rr.clusterScope)
      errs.required(
        `${p}.namespaces`,
        "resource rules that are not cluster scoped must supply at least one namespace",
      );
  });
  nonResourceRules.forEach((nr, i) => {
    const p = `${path}.nonResourceRules[${i}]`;
    if ((nr.verbs ?? []).length === 0)
      errs.required(`${p}.verbs`, "verbs must contain at least one value");
    if ((nr.nonResourceURLs ?? []).length === 0)
      errs.required(`${p}.nonResourceURLs`, "nonResourceURLs must contain at least one value");
  });
}

export function validatePriorityLevelConfiguration(
  errs: FieldErrors,
  pl: PriorityLevelConfiguration,
): void {
  const spec = pl.spec;
  if (!spec) return errs.required("spec");
  if (!PL_TYPES.includes(spec.type)) return errs.notSupported("spec.type", spec.type, PL_TYPES);
  if (spec.type === "Exempt") {
    if (spec.limited) errs.forbidden("spec.limited", "must be nil if the type is not Limited");
    const ex = spec.exempt;
    if (ex?.nominalConcurrencyShares !== undefined && ex.nominalConcurrencyShares < 0)
      errs.invalid(
        "spec.exempt.nominalConcurrencyShares",
        ex.nominalConcurrencyShares,
        "must be a non-negative integer",
      );
    percent(errs, ex?.lendablePercent, "spec.exempt.lendablePercent");
    return;
  }
  if (spec.exempt) errs.forbidden("spec.exempt", "must be nil if the type is Limited");
  const lim = spec.limited;
  if (!lim) return errs.required("spec.limited", "must not be empty when type is Limited");
  if (lim.nominalConcurrencyShares !== undefined && lim.nominalConcurrencyShares < 0)
    errs.invalid(
      "spec.limited.nominalConcurrencyShares",
      lim.nominalConcurrencyShares,
      "must be a non-negative integer",
    );
  percent(errs, lim.lendablePercent, "spec.limited.lendablePercent");
  if (lim.borrowingLimitPercent !== undefined && lim.borrowingLimitPercent < 0)
    errs.invalid(
      "spec.limited.borrowingLimitPercent",
      lim.borrowingLimitPercent,
      "if specified, must be a non-negative integer",
    );
  const lr = lim.limitResponse;
  const p = "spec.limited.limitResponse";
  if (!lr) return;
  if (!RESPONSE_TYPES.includes(lr.type))
    return errs.notSupported(`${p}.type`, lr.type, RESPONSE_TYPES);
  if (lr.type === "Reject") {
    if (lr.queuing)
      errs.forbidden(`${p}.queuing`, "must be nil if limited.limitResponse.type is not Limited");
    return;
  }
  const q = lr.queuing;
  if (!q)
    return errs.required(
      `${p}.queuing`,
      "must not be empty if limited.limitResponse.type is Limited",
    );
  const queues = q.queues ?? 64;
  const hand = q.handSize ?? 8;
  if (queues <= 0) errs.invalid(`${p}.queuing.queues`, queues, "must be positive");
  if (hand <= 0) errs.invalid(`${p}.queuing.handSize`, hand, "must be positive");
  else if (hand > queues)
    errs.invalid(`${p}.queuing.handSize`, hand, `should not be greater than queues (${queues})`);
  if ((q.queueLengthLimit ?? 50) <= 0)
    errs.invalid(`${p}.queuing.queueLengthLimit`, q.queueLengthLimit, "must be positive");
}

function percent(errs: FieldErrors, v: number | undefined, path: string): void {
  if (v !== undefined && (v < 0 || v > 100))
    errs.invalid(path, v, "must be between 0 and 100, inclusive");
}
