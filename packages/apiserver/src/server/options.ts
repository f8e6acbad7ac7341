// The apiserver's options: one field per kube-apiserver flag it supports (main.ts maps the
// flags onto them), plus the few that only tests set.
import type { Logger } from "pino";
import type { AuthorizationMode } from "../authz/index.js";
import type { EtcdTlsFiles } from "../storage.js";

export interface ApiServerOptions {
  etcdServers: string[];
  /** TLS to etcd (kube-apiserver's --etcd-cafile, --etcd-certfile, --etcd-keyfile). */
  etcdTls?: EtcdTlsFiles;
  bindAddress: string;
  securePort: number;
  tlsCertFile: string;
  tlsPrivateKeyFile: string;
  clientCaFile?: string;
  tokenAuthFile?: string;
  serviceClusterIpRange: string;
  serviceNodePortRange: string;
  /** The address the `kubernetes` Service's endpoints point at (default: the host's address). */
  advertiseAddress?: string;
  /** Private key that signs service account tokens (PEM); without it, no TokenRequest. */
  serviceAccountSigningKeyFile?: string;
  /** More public keys that verify service account tokens. */
  serviceAccountKeyFiles?: string[];
  serviceAccountIssuer?: string;
  /**
   * TEST ONLY (no flag): the shortest token TokenRequest grants, in seconds. Kubernetes'
   * minimum is 10 minutes (the default here); tests of token refresh lower it to see a
   * kubelet renew a token within seconds.
   */
  serviceAccountMinTokenExpirationSeconds?: number;
  /** How long Events are kept (Kubernetes' --event-ttl; default one hour). */
  eventTtlSeconds?: number;
  /**
   * How often etcd's history is compacted (kube-apiserver's --etcd-compaction-interval,
   * default 5 minutes); 0 leaves compaction to etcd.
   */
  etcdCompactionIntervalMs?: number;
  /** Interval between watch bookmarks (Kubernetes: about a minute). */
  bookmarkIntervalMs?: number;
  /** Client certificate and key for pods/log and pods/exec calls to kubelets. */
  kubeletClientCertificate?: string;
  kubeletClientKey?: string;
  /** How often metrics.k8s.io scrapes the kubelets (metrics-server's --metric-resolution). */
  metricResolutionMs?: number;
  /** --authorization-mode, in order (default Node, RBAC). */
  authorizationModes?: AuthorizationMode[];
  /** Admission plugins turned off (kube-apiserver's --disable-admission-plugins). */
  disableAdmissionPlugins?: string[];
  /** An EncryptionConfiguration file: which resources are encrypted at rest, and how. */
  encryptionProviderConfig?: string;
  /** An audit Policy file and the file the audit Events go to ("-" for stdout). */
  auditPolicyFile?: string;
  auditLogPath?: string;
  /** --audit-log-maxsize (MB) and --audit-log-maxbackup: size rotation of the audit log. */
  auditLogMaxSizeMB?: number;
  auditLogMaxBackups?: number;
  /**
   * API Priority and Fairness (--enable-priority-and-fairness, default on) and the server's
   * seats it shares among the priority levels: --max-requests-inflight plus
   * --max-mutating-requests-inflight (defaults in main.ts).
   */
  enablePriorityAndFairness?: boolean;
  maxRequestsInflight?: number;
  maxMutatingRequestsInflight?: number;
  logger?: Logger;
}
