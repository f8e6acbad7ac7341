// @skiff/apiserver: the Kubernetes API on etcd.
//
//   const server = new ApiServer({ etcdServers: ["http://127.0.0.1:2379"], bindAddress: "127.0.0.1",
//     securePort: 6443, tlsCertFile, tlsPrivateKeyFile, clientCaFile,
//     serviceClusterIpRange: "10.96.0.0/12", serviceNodePortRange: "30000-32767" });
//   const { port } = await server.start();
export { ApiServer, type ApiServerOptions } from "./server.js";
export { parseTokenFile, type UserInfo } from "./auth.js";
