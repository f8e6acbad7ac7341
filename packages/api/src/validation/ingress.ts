// Ingress and IngressClass checks, worded as Kubernetes 1.31's networking validation
// words them: paths with pathType rules, backends (service name + port XOR resource),
// wildcard hosts, TLS hosts, the class name and the class's controller and parameters.
import type { Ingress, IngressBackend, IngressClass } from "../schemas/ingress.js";
import type { FieldErrors } from "./errors.js";
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isIP,
  isValidPortName,
} from "./names.js";

const PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"];
const SCOPES = ["Cluster", "Namespace"];
const CLASS_ANNOTATION = "kubernetes.io/ingress.class";
const WILDCARD = /^\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const WILDCARD_ERROR =
  "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
// Exact and Prefix paths may not hold these (they would be read differently by proxies).
const BAD_SEQUENCES = ["//", "/./", "/../", "%2f", "%2F"];
const BAD_SUFFIXES = ["/..", "/."];

/** A host or TLS host: a DNS subdomain, or one with a leading `*.` label. */
function validateHost(errs: FieldErrors, host: string, path: string): void {
  if (host.includes("*")) {
    if (!WILDCARD.test(host) || host.length > 253) errs.invalid(path, host, WILDCARD_ERROR);
    return;
  }
  errs.invalidEach(path, host, isDNS1123Subdomain(host));
}

function validateBackend(errs: FieldErrors, b: IngressBackend, path: string): void {
  if (b.resource && b.service) {
    errs.invalid(path, "", "cannot set both resource and service backends");
    return;
  }
  if (b.resource) {
    if (!b.resource.kind) errs.required(`${path}.resource.kind`);
    if (!b.resource.name) errs.required(`${path}.resource.name`);
    return;
  }
  if (!b.service) {
    errs.invalid(path, "", "resource or service backend is required");
    return;
  }
  const svc = b.service;
  if (!svc.name) errs.required(`${path}.service.name`);
  else errs.invalidEach(`${path}.service.name`, svc.name, isDNS1035Label(svc.name));
  const name = svc.port?.name ?? "";
  const number = svc.port?.number ?? 0;
  if (name && number)
    errs.invalid(`${path}.service.port`, "", "cannot set both port name & port number");
  else if (name) errs.invalidEach(`${path}.service.port.name`, name, isValidPortName(name));
  else if (number) {
    if (number < 1 || number > 65535)
      errs.invalid(`${path}.service.port.number`, number, "must be between 1 and 65535, inclusive");
  } else errs.required(`${path}.service.port`, "port name or number is required");
}

export function validateIngress(errs: FieldErrors, ing: Ingress): void {
  const spec = ing.spec ?? {};
  const rules = spec.rules ?? [];
  if (rules.length === 0 && !spec.defaultBackend)
    errs.invalid("spec", null, "either `defaultBackend` or `rules` must be specified");
  if (spec.defaultBackend) validateBackend(errs, spec.defaultBackend, "spec.defaultBackend");
  rules.forEach((rule, i) => {
    const p = `spec.rules[${i}]`;
    if (rule.host) {
      if (isIP(rule.host))
        errs.invalid(`${p}.host`, rule.host, "must be a DNS name, not an IP address");
      else validateHost(errs, rule.host, `${p}.host`);
    }
    if (!rule.http) return;
    const paths = rule.http.paths ?? [];
    if (paths.length === 0) errs.required(`${p}.http.paths`);
    paths.forEach((hp, j) => {
      const pp = `${p}.http.paths[${j}]`;
      const path = hp.path ?? "";
      if (!hp.pathType) errs.required(`${pp}.pathType`, "pathType must be specified");
      else if (!PATH_TYPES.includes(hp.pathType))
        errs.notSupported(`${pp}.pathType`, hp.pathType, PATH_TYPES);
      else if (hp.pathType === "ImplementationSpecific") {
        if (path !== "" && !path.startsWith("/"))
          errs.invalid(`${pp}.path`, path, "must be an absolute path");
      } else {
        if (!path.startsWith("/")) errs.invalid(`${pp}.path`, path, "must be an absolute path");
        for (const bad of BAD_SEQUENCES)
          if (path.includes(bad)) errs.invalid(`${pp}.path`, path, `must not contain '${bad}'`);
        for (const bad of BAD_SUFFIXES)
          if (path.endsWith(bad)) errs.invalid(`${pp}.path`, path, `cannot end with '${bad}'`);
      }
      validateBackend(errs, hp.backend ?? {}, `${pp}.backend`);
    });
  });
  (spec.tls ?? []).forEach((tls, i) => {
    (tls.hosts ?? []).forEach((h, j) => validateHost(errs, h, `spec.tls[${i}].hosts[${j}]`));
    if (tls.secretName)
      errs.invalidEach(
        `spec.tls[${i}].secretName`,
        tls.secretName,
        isDNS1123Subdomain(tls.secretName),
      );
  });
  if (spec.ingressClassName !== undefined) {
    errs.invalidEach(
      "spec.ingressClassName",
      spec.ingressClassName,
      isDNS1123Subdomain(spec.ingressClassName),
    );
    const annotation = ing.metadata?.annotations?.[CLASS_ANNOTATION];
    if (annotation !== undefined)
      errs.invalid(
        `metadata.annotations.${CLASS_ANNOTATION}`,
        annotation,
        "can not be set when the class field is also set",
      );
  }
}

const DOMAIN_PREFIXED = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)\/(.+)$/;

export function validateIngressClass(errs: FieldErrors, c: IngressClass): void {
  const controller = c.spec?.controller ?? "";
  if (!controller) errs.required("spec.controller");
  else if (controller.length > 250) errs.tooLong("spec.controller", 250);
  else {
    const m = DOMAIN_PREFIXED.exec(controller);
    if (!m)
      errs.invalid(
        "spec.controller",
        controller,
        'must be a domain-prefixed path (such as "acme.io/foo")',
      );
    else errs.invalidEach("spec.controller", m[1], isDNS1123Subdomain(m[1]!));
  }
  const params = c.spec?.parameters;
  if (!params) return;
  const p = "spec.parameters";
  if (!params.kind) errs.required(`${p}.kind`);
  if (!params.name) errs.required(`${p}.name`);
  const scope = params.scope ?? "Cluster";
  if (!SCOPES.includes(scope)) errs.notSupported(`${p}.scope`, scope, SCOPES);
  else if (scope === "Namespace") {
    if (!params.namespace)
      errs.required(`${p}.namespace`, "`parameters.scope` is set to 'Namespace'");
    else errs.invalidEach(`${p}.namespace`, params.namespace, isDNS1123Label(params.namespace));
  } else if (params.namespace)
    errs.forbidden(`${p}.namespace`, "`parameters.scope` is set to 'Cluster'");
}

export function validateIngressClassUpdate(
  errs: FieldErrors,
  now: IngressClass,
  old: IngressClass,
): void {
  if ((now.spec?.controller ?? "") !== (old.spec?.controller ?? ""))
    errs.invalid("spec.controller", now.spec?.controller ?? "", "field is immutable");
}
