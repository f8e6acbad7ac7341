#!/usr/bin/env -S node --single-threaded-gc
// The skiff-dns program; its code is built into dist/ by `make build`. A DNS pod gets about
// one core: V8's garbage-collection helper threads only compete with the server there (one
// thread answers about 9% more queries per CPU-second, measured with scripts/bench/dns.ts).
import "../dist/main.js";
