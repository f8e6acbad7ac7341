#!/usr/bin/env node
// The skiff-kubelet program; its code is built into dist/ by `make build`.
import "../dist/main.js";
