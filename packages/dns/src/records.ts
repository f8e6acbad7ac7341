// The cluster zone: answers a question from the informer caches of Services, EndpointSlices
// and Pods, following the Kubernetes DNS specification (and CoreDNS' kubernetes plugin where
// the specification is silent). Pure: no I/O, no clock; the same caches give the same answer.
//
//   <svc>.<ns>.svc.<zone>                 A/AAAA: the ClusterIPs; headless: every ready endpoint
//   <host>.<svc>.<ns>.svc.<zone>          A/AAAA of a headless Service's endpoint (its hostname,
//                                         or its address dashed: 10-244-1-5)
//   _<port>._<proto>.<svc>.<ns>.svc.<zone> SRV for a named port
//   <a-b-c-d>.<ns>.pod.<zone>             A of a pod that has that address in that namespace
//   <reversed ip>.in-addr.arpa / ip6.arpa PTR of a ClusterIP or an endpoint address
//   ExternalName Services                 CNAME to spec.externalName
//   anything else in the zone             NXDOMAIN with the zone's SOA
import { isIPv4, isIPv6 } from "node:net";
import type { Answer, Question, SrvAnswer } from "dns-packet";
import type { EndpointSlice, Pod, Service } from "@skiff/api";
import type { IndexFunc, KubeObject, Store } from "@skiff/client";
import { canonicalIP, dashed, ipOfLabel, reverseName } from "./names.js";

/** The kinds as the informers cache them (with metadata). */
export type ServiceObject = Service & KubeObject;
export type EndpointSliceObject = EndpointSlice & KubeObject;
export type PodObject = Pod & KubeObject;

export const serviceNameLabel = "kubernetes.io/service-name";

/** Index names the zone reads; the informers are given these indexers. */
export const byService = "dns.service";
export const byReverseName = "dns.reverse";
export const byPodIP = "dns.podIP";

const clusterIPsOf = (s: Service): string[] =>
  (s.spec?.clusterIPs?.length ? s.spec.clusterIPs : [s.spec?.clusterIP ?? ""]).filter(
    (ip) => ip !== "" && ip !== "None",
  );

export const serviceIndexers: Record<string, IndexFunc<ServiceObject>> = {
  [byReverseName]: (s) => clusterIPsOf(s).map(reverseName),
};

export const endpointSliceIndexers: Record<string, IndexFunc<EndpointSliceObject>> = {
  [byService]: (e) => {
    const svc = e.metadata?.labels?.[serviceNameLabel];
    return svc ? [`${e.metadata?.namespace ?? ""}/${svc}`] : [];
  },
  [byReverseName]: (e) => (e.endpoints ?? []).flatMap((ep) => ep.addresses.map(reverseName)),
};

export const podIndexers: Record<string, IndexFunc<PodObject>> = {
  [byPodIP]: (p) => {
    const ips = p.status?.podIPs?.map((i) => i.ip) ?? [p.status?.podIP];
    const ns = p.metadata?.namespace ?? "";
    return ips.filter((ip) => ip !== undefined).map((ip) => `${ns}/${canonicalIP(ip)}`);
  },
};

export type Rcode = "NOERROR" | "FORMERR" | "SERVFAIL" | "NXDOMAIN" | "NOTIMP" | "REFUSED";

/** An answer from the zone: the sections of the response. */
export interface ZoneAnswer {
  rcode: Rcode;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

export interface ClusterZoneOptions {
  services: Store<ServiceObject>;
  endpointSlices: Store<EndpointSliceObject>;
  pods: Store<PodObject>;
  /** The cluster domain (default cluster.local). */
  zone?: string;
  /** TTL of every record, in seconds (default 30). */
  ttl?: number;
}

/** One endpoint address of a Service, with the name it has under the Service. */
interface EndpointAddress {
  ip: string;
  label: string;
  ports: { name: string; protocol: string; port: number }[];
}

const lower = (s: string | undefined): string => (s ?? "").toLowerCase();

export class ClusterZone {
  readonly zone: string;
  private readonly ttl: number;
  private readonly services: Store<ServiceObject>;
  private readonly slices: Store<EndpointSliceObject>;
  private readonly pods: Store<PodObject>;
  /** A zone serial that changes when the server restarts (as CoreDNS' does). */
  private readonly serial = Math.floor(Date.now() / 1000) >>> 0;

  constructor(opts: ClusterZoneOptions) {
    this.zone = lower(opts.zone ?? "cluster.local").replace(/^\.+|\.+$/g, "");
    this.ttl = opts.ttl ?? 30;
    this.services = opts.services;
    this.slices = opts.endpointSlices;
    this.pods = opts.pods;
  }

  /**
   * The answer to a question, or undefined when the name is not the cluster's to answer
   * (outside the zone, or a reverse name of no cluster address): the caller forwards it.
   */
  answer(q: Question): ZoneAnswer | undefined {
    const name = lower(q.name).replace(/\.$/, "");
    if (name.endsWith(".in-addr.arpa") || name.endsWith(".ip6.arpa")) return this.reverse(q, name);
    if (name === this.zone) return this.apex(q);
    if (!name.endsWith(`.${this.zone}`)) return undefined;
    const labels = name.slice(0, -(this.zone.length + 1)).split(".");
    const kind = labels[labels.length - 1];
    if (kind === "svc") return this.serviceName(q, labels.slice(0, -1));
    if (kind === "pod") return this.podName(q, labels.slice(0, -1));
    return this.nxdomain();
  }

  private apex(q: Question): ZoneAnswer {
    if (q.type === "SOA") return this.ok([this.soa()]);
    if (q.type === "NS")
      return this.ok([{ name: this.zone, type: "NS", ttl: this.ttl, data: `ns.dns.${this.zone}` }]);
    return this.nodata();
  }

  /** Names under svc.<zone>: labels are what precedes "svc", e.g. [web, default]. */
  private serviceName(q: Question, labels: string[]): ZoneAnswer {
    const n = labels.length;
    if (n === 0) return this.nodata();
    const ns = labels[n - 1]!;
    if (n === 1)
      return this.services.byIndex("namespace", ns).length ? this.nodata() : this.nxdomain();
    const svc = this.services.get(`${ns}/${labels[n - 2]}`);
    if (!svc) return this.nxdomain();
    const fqdn = `${svc.metadata?.name}.${ns}.svc.${this.zone}`;
    if (n === 2) return this.service(q, svc, fqdn);
    if (n === 3) {
      const label = labels[0]!;
      if (label.startsWith("_")) return this.nodata(); // _tcp.<svc>...: a name with names below it
      const eps = this.endpointsOf(svc).filter((e) => e.label === label);
      return eps.length
        ? this.addresses(
            q,
            q.name,
            eps.map((e) => e.ip),
          )
        : this.nxdomain();
    }
    if (n === 4) return this.srvName(q, svc, fqdn, labels[0]!, labels[1]!);
    return this.nxdomain();
  }

  private service(q: Question, svc: Service, fqdn: string): ZoneAnswer {
    const spec = svc.spec ?? {};
    if (spec.type === "ExternalName") {
      if (!spec.externalName) return this.nodata();
      return this.ok([
        { name: q.name, type: "CNAME", ttl: this.ttl, data: spec.externalName.replace(/\.$/, "") },
      ]);
    }
    const headless = clusterIPsOf(svc).length === 0;
    if (q.type === "SRV") {
      const srvs: SrvAnswer[] = [];
      const extra: Answer[] = [];
      if (!headless) {
        for (const p of spec.ports ?? []) srvs.push(this.srv(q.name, p.port, fqdn));
        if (srvs.length) extra.push(...this.records(fqdn, clusterIPsOf(svc)));
      } else {
        for (const ep of this.endpointsOf(svc)) {
          const target = `${ep.label}.${fqdn}`;
          for (const p of ep.ports) srvs.push(this.srv(q.name, p.port, target));
          if (ep.ports.length) extra.push(...this.records(target, [ep.ip]));
        }
      }
      return srvs.length ? { ...this.ok(srvs), additionals: extra } : this.nodata();
    }
    const ips = headless ? this.endpointsOf(svc).map((e) => e.ip) : clusterIPsOf(svc);
    return this.addresses(q, q.name, ips);
  }

  /** _<port>._<proto>.<svc>.<ns>.svc.<zone>: SRV records of one named port. */
  private srvName(
    q: Question,
    svc: Service,
    fqdn: string,
    portLabel: string,
    protoLabel: string,
  ): ZoneAnswer {
    if (!portLabel.startsWith("_") || !protoLabel.startsWith("_")) return this.nxdomain();
    const port = portLabel.slice(1);
    const proto = protoLabel.slice(1);
    const matches = (p: { name?: string; protocol?: string }): boolean =>
      port !== "" && lower(p.name) === port && lower(p.protocol ?? "TCP") === proto;
    const srvs: SrvAnswer[] = [];
    const extra: Answer[] = [];
    if (clusterIPsOf(svc).length) {
      for (const p of (svc.spec?.ports ?? []).filter(matches))
        srvs.push(this.srv(q.name, p.port, fqdn));
      if (srvs.length) extra.push(...this.records(fqdn, clusterIPsOf(svc)));
    } else {
      for (const ep of this.endpointsOf(svc)) {
        const target = `${ep.label}.${fqdn}`;
        const ports = ep.ports.filter(matches);
        for (const p of ports) srvs.push(this.srv(q.name, p.port, target));
        if (ports.length) extra.push(...this.records(target, [ep.ip]));
      }
    }
    if (!srvs.length) return this.nxdomain();
    return q.type === "SRV" ? { ...this.ok(srvs), additionals: extra } : this.nodata();
  }

  /** <a-b-c-d>.<ns>.pod.<zone>: only an address some pod in that namespace has (verified). */
  private podName(q: Question, labels: string[]): ZoneAnswer {
    if (labels.length === 0) return this.nodata();
    if (labels.length === 1)
      return this.pods.byIndex("namespace", labels[0]!).length ? this.nodata() : this.nxdomain();
    if (labels.length !== 2) return this.nxdomain();
    const ip = ipOfLabel(labels[0]!);
    if (!ip || this.pods.byIndex(byPodIP, `${labels[1]}/${ip}`).length === 0)
      return this.nxdomain();
    return this.addresses(q, q.name, [ip]);
  }

  /** PTR: ClusterIPs first, then endpoint addresses; a name of no cluster address is not ours. */
  private reverse(q: Question, name: string): ZoneAnswer | undefined {
    const targets = new Set<string>();
    for (const svc of this.services.byIndex(byReverseName, name))
      targets.add(`${svc.metadata?.name}.${svc.metadata?.namespace}.svc.${this.zone}`);
    for (const slice of this.slices.byIndex(byReverseName, name)) {
      const svc = this.serviceOf(slice);
      if (!svc) continue;
      const fqdn = `${svc.metadata?.name}.${svc.metadata?.namespace}.svc.${this.zone}`;
      for (const ep of this.endpointsOf(svc))
        if (reverseName(ep.ip) === name) targets.add(`${ep.label}.${fqdn}`);
    }
    if (targets.size === 0) return undefined;
    if (q.type !== "PTR") return this.nodata();
    return this.ok(
      [...targets].map((data) => ({ name: q.name, type: "PTR", ttl: this.ttl, data })),
    );
  }

  private serviceOf(slice: EndpointSlice): Service | undefined {
    const svc = slice.metadata?.labels?.[serviceNameLabel];
    return svc ? this.services.get(`${slice.metadata?.namespace}/${svc}`) : undefined;
  }

  /** A Service's endpoint addresses: ready ones (all, with publishNotReadyAddresses), deduplicated. */
  private endpointsOf(svc: Service): EndpointAddress[] {
    const key = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
    const all = svc.spec?.publishNotReadyAddresses === true;
    const out = new Map<string, EndpointAddress>();
    for (const slice of this.slices.byIndex(byService, key)) {
      if (slice.addressType !== "IPv4" && slice.addressType !== "IPv6") continue;
      const ports = (slice.ports ?? [])
        .filter((p) => p.port !== undefined)
        .map((p) => ({ name: p.name ?? "", protocol: p.protocol ?? "TCP", port: p.port! }));
      for (const ep of slice.endpoints ?? []) {
        if (!all && ep.conditions?.ready === false) continue;
        for (const ip of ep.addresses) {
          if (out.has(ip)) continue;
          out.set(ip, { ip, label: lower(ep.hostname) || dashed(ip), ports });
        }
      }
    }
    return [...out.values()].sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  }

  /** A/AAAA for the addresses of the asked family; NODATA when there are none of it. */
  private addresses(q: Question, name: string, ips: string[]): ZoneAnswer {
    const type: string = q.type; // (ANY is missing from dns-packet's type list)
    const family =
      type === "A" ? isIPv4 : type === "AAAA" ? isIPv6 : type === "ANY" ? () => true : undefined;
    const records = family ? this.records(name, ips.filter(family)) : [];
    return records.length ? this.ok(records) : this.nodata();
  }

  private records(name: string, ips: string[]): Answer[] {
    return ips.map((ip) => ({ name, type: isIPv4(ip) ? "A" : "AAAA", ttl: this.ttl, data: ip }));
  }

  private srv(name: string, port: number, target: string): SrvAnswer {
    return { name, type: "SRV", ttl: this.ttl, data: { priority: 0, weight: 100, port, target } };
  }

  private soa(): Answer {
    return {
      name: this.zone,
      type: "SOA",
      ttl: this.ttl,
      data: {
        mname: `ns.dns.${this.zone}`,
        rname: `hostmaster.${this.zone}`,
        serial: this.serial,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: this.ttl,
      },
    };
  }

  private ok(answers: Answer[]): ZoneAnswer {
    return { rcode: "NOERROR", answers, authorities: [], additionals: [] };
  }

  /** The name exists, but has no record of the asked type: NOERROR, empty, with the SOA. */
  private nodata(): ZoneAnswer {
    return { rcode: "NOERROR", answers: [], authorities: [this.soa()], additionals: [] };
  }

  private nxdomain(): ZoneAnswer {
    return { rcode: "NXDOMAIN", answers: [], authorities: [this.soa()], additionals: [] };
  }
}
